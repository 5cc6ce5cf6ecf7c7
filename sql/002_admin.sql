-- Administration as SQL functions: drain-admin calls these, and a psql user can too, with the
-- same checks (admin role, validation, one enabled drain per account) and the same audit trail.
-- Errors: SQLSTATE 22023 "<field>: <problem>" for bad input, 42501 for a missing admin role,
-- 23505 for a second enabled drain, P0002 for an unknown account, user or drain.

create function logdrain_rfc3339(t timestamptz) returns text
language sql immutable as $$
    select to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- The same rule as the Swift URLRedaction: scheme://host[:port]/path, userinfo and query
-- values as ***, path segments of 16+ characters containing a digit as ***.
create function logdrain_redact_url(url text) returns text
language plpgsql immutable as $$
declare
    m text[];
    path text;
    query text;
    seg text;
    out_path text[] := '{}';
    out_query text[] := '{}';
    pair text;
begin
    m := regexp_match(url, '^([A-Za-z][A-Za-z0-9+.-]*)://(([^/?#]*)@)?([^/?#]*)([^?#]*)(\?([^#]*))?');
    if m is null then return '***'; end if;
    path := m[5];
    query := m[7];
    if path <> '' then
        foreach seg in array string_to_array(path, '/') loop
            out_path := out_path || case when char_length(seg) >= 16 and seg ~ '[0-9]' then '***' else seg end;
        end loop;
    end if;
    if m[6] is not null then
        foreach pair in array string_to_array(query, '&') loop
            out_query := out_query || case when position('=' in pair) > 0
                                           then split_part(pair, '=', 1) || '=***' else pair end;
        end loop;
    end if;
    return m[1] || '://' || case when m[2] is not null then '***@' else '' end || m[4]
        || coalesce(array_to_string(out_path, '/'), '')
        || case when m[6] is not null then '?' || array_to_string(out_query, '&') else '' end;
end $$;

-- Field checks shared by create and update; raise 22023 naming the field.
create function logdrain_check_drain_fields(p_name text, p_url text, p_secret text, p_sampling_rate integer)
returns void language plpgsql immutable as $$
begin
    if p_name is not null and (char_length(p_name) not between 1 and 100 or p_name ~ '[[:cntrl:]]') then
        raise exception 'name: must be 1-100 characters (got %)', char_length(p_name) using errcode = '22023';
    end if;
    if p_url is not null and (p_url !~* '^https://([^/?#@]*@)?(\[[0-9a-f:.]+\]|[^/?#:@\[\]]+)(:[0-9]{1,5})?([/?#].*)?$'
                              or p_url ~ '[[:space:][:cntrl:]]') then
        raise exception 'url: must be an https:// URL with a host (got %)', logdrain_redact_url(p_url) using errcode = '22023';
    end if;
    if p_secret is not null and char_length(p_secret) < 64 then
        raise exception 'secret: must be at least 64 characters (got %)', char_length(p_secret) using errcode = '22023';
    end if;
    if p_sampling_rate is not null and p_sampling_rate not between 1 and 5000 then
        raise exception 'sampling-rate: must be between 1 and 5000 (got %)', p_sampling_rate using errcode = '22023';
    end if;
end $$;

create function logdrain_account_id(p_account text) returns bigint
language plpgsql stable as $$
declare
    v_id bigint;
begin
    select id into v_id from accounts where name = p_account;
    if not found then
        raise exception 'account: no account named %', p_account using errcode = 'P0002';
    end if;
    return v_id;
end $$;

create function logdrain_require_admin(p_account_id bigint, p_actor text) returns void
language plpgsql stable as $$
begin
    if p_actor is null or not exists (
        select 1 from memberships m join users u on u.id = m.user_id
        where m.account_id = p_account_id and u.email = lower(p_actor) and m.role = 'admin') then
        raise exception 'permission denied: % is not an admin of account %', coalesce(p_actor, '(no actor)'),
            (select name from accounts where id = p_account_id) using errcode = '42501';
    end if;
end $$;

-- What the audit trail records of a drain: never the secret, the URL redacted.
create function logdrain_drain_audit_view(d drains) returns jsonb
language sql stable as $$
    select jsonb_build_object('id', d.id, 'name', d.name, 'url', logdrain_redact_url(d.url),
        'sampling_rate', d.sampling_rate, 'enabled', d.enabled, 'disabled_reason', d.disabled_reason,
        'secret', '***')
$$;

create function logdrain_audit(p_account_id bigint, p_drain uuid, p_actor text, p_action text, p_before jsonb, p_after jsonb)
returns void language sql as $$
    insert into audit_events (account_id, drain_id, actor, action, before, after)
    values (p_account_id, p_drain, p_actor, p_action, p_before, p_after)
$$;

-- Raised when a second drain of an account would be enabled; names the enabled one.
create function logdrain_raise_one_enabled(p_account_id bigint) returns void
language plpgsql as $$
declare
    v_active record;
begin
    select id, name into v_active from drains where account_id = p_account_id and enabled;
    raise exception 'only one drain per account can be enabled: account % already has enabled drain % (%); disable it first',
        (select name from accounts where id = p_account_id), v_active.id, v_active.name
        using errcode = '23505';
end $$;

create function account_create(p_name text) returns accounts
language plpgsql as $$
declare
    v accounts;
begin
    if p_name is null or p_name !~ '^[a-z0-9-]{1,63}$' then
        raise exception 'account: must be 1-63 characters of a-z, 0-9 and ''-'' (got %)', coalesce(p_name, 'null') using errcode = '22023';
    end if;
    insert into accounts (name) values (p_name) returning * into v;
    perform logdrain_audit(v.id, null, 'operator', 'account.create', null, jsonb_build_object('name', v.name));
    return v;
exception when unique_violation then
    raise exception 'account: an account named % already exists', p_name using errcode = '23505';
end $$;

create function member_add(p_account text, p_email text, p_role text) returns void
language plpgsql as $$
declare
    v_account bigint := logdrain_account_id(p_account);
    v_user bigint;
    v_before text;
begin
    if p_email is null or lower(p_email) !~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$' then
        raise exception 'email: must be an address like name@example.com (got %)', coalesce(p_email, 'null') using errcode = '22023';
    end if;
    if p_role is null or p_role not in ('admin', 'member') then
        raise exception 'role: must be admin or member (got %)', coalesce(p_role, 'null') using errcode = '22023';
    end if;
    insert into users (email) values (lower(p_email)) on conflict (email) do nothing;
    select id into v_user from users where email = lower(p_email);
    select role into v_before from memberships where account_id = v_account and user_id = v_user;
    insert into memberships (account_id, user_id, role) values (v_account, v_user, p_role)
        on conflict (account_id, user_id) do update set role = excluded.role;
    perform logdrain_audit(v_account, null, 'operator', 'member.add',
        case when v_before is null then null else jsonb_build_object('email', lower(p_email), 'role', v_before) end,
        jsonb_build_object('email', lower(p_email), 'role', p_role));
end $$;

create function drain_create(p_account text, p_actor text, p_name text, p_url text, p_secret text,
                             p_sampling_rate integer default 1000, p_enabled boolean default true)
returns uuid language plpgsql as $$
declare
    v_account bigint := logdrain_account_id(p_account);
    v drains;
begin
    perform logdrain_require_admin(v_account, p_actor);
    if p_name is null then raise exception 'name: is required' using errcode = '22023'; end if;
    if p_url is null then raise exception 'url: is required' using errcode = '22023'; end if;
    if p_secret is null then raise exception 'secret: is required' using errcode = '22023'; end if;
    perform logdrain_check_drain_fields(p_name, p_url, p_secret, coalesce(p_sampling_rate, 1000));
    begin
        insert into drains (account_id, name, url, secret, sampling_rate, enabled, disabled_reason, start_ts, start_snapshot)
        values (v_account, p_name, p_url, p_secret, coalesce(p_sampling_rate, 1000), p_enabled,
                case when p_enabled then null else 'manual' end,
                now() - interval '30 seconds', pg_current_snapshot())
        returning * into v;
    exception when unique_violation then
        perform logdrain_raise_one_enabled(v_account);
    end;
    perform logdrain_audit(v_account, v.id, lower(p_actor), 'drain.create', null, logdrain_drain_audit_view(v));
    return v.id;
end $$;

-- Locks the drain and checks the actor; the row as it was.
create function logdrain_lock_drain(p_drain uuid, p_actor text) returns drains
language plpgsql as $$
declare
    v drains;
begin
    select * into v from drains where id = p_drain for update;
    if not found then
        raise exception 'drain: no drain with id %', p_drain using errcode = 'P0002';
    end if;
    perform logdrain_require_admin(v.account_id, p_actor);
    return v;
end $$;

-- NULL arguments leave a field unchanged. A new URL or secret applies to the next attempt,
-- including a retry of a pending batch (same body and delivery id, new URL and signature).
create function drain_update(p_drain uuid, p_actor text, p_name text default null, p_url text default null,
                             p_sampling_rate integer default null, p_secret text default null)
returns void language plpgsql as $$
declare
    v_before drains := logdrain_lock_drain(p_drain, p_actor);
    v_after drains;
    v_after_json jsonb;
begin
    perform logdrain_check_drain_fields(p_name, p_url, p_secret, p_sampling_rate);
    update drains set name = coalesce(p_name, name), url = coalesce(p_url, url),
                      sampling_rate = coalesce(p_sampling_rate, sampling_rate),
                      secret = coalesce(p_secret, secret), updated_at = now()
    where id = p_drain returning * into v_after;
    v_after_json := logdrain_drain_audit_view(v_after);
    if p_secret is not null then v_after_json := v_after_json || '{"secret": "*** (changed)"}'; end if;
    perform logdrain_audit(v_after.account_id, p_drain, lower(p_actor), 'drain.update',
                           logdrain_drain_audit_view(v_before), v_after_json);
end $$;

-- Re-enabling resets the failure count and resumes from the cursor; with p_skip_backlog the
-- new-drain rule applies from now and any pending batch is dropped. Either way the lease token
-- moves, so a result still in flight from before cannot land.
create function drain_enable(p_drain uuid, p_actor text, p_skip_backlog boolean default false)
returns void language plpgsql as $$
declare
    v_before drains := logdrain_lock_drain(p_drain, p_actor);
    v_after drains;
begin
    begin
        update drains set enabled = true, disabled_reason = null, consecutive_failures = 0,
            next_due_at = now(), lease_owner = null, lease_expires_at = null, lease_token = lease_token + 1,
            start_ts = case when p_skip_backlog then now() - interval '30 seconds' else start_ts end,
            start_snapshot = case when p_skip_backlog then pg_current_snapshot() else start_snapshot end,
            batch_end_xact = case when p_skip_backlog then null else batch_end_xact end,
            batch_end_id = case when p_skip_backlog then null else batch_end_id end,
            batch_delivery_id = case when p_skip_backlog then null else batch_delivery_id end,
            batch_lines = case when p_skip_backlog then null else batch_lines end,
            batch_attempts = case when p_skip_backlog then 0 else batch_attempts end,
            updated_at = now()
        where id = p_drain returning * into v_after;
    exception when unique_violation then
        perform logdrain_raise_one_enabled(v_before.account_id);
    end;
    perform logdrain_audit(v_after.account_id, p_drain, lower(p_actor),
        case when p_skip_backlog then 'drain.enable.skip-backlog' else 'drain.enable' end,
        logdrain_drain_audit_view(v_before), logdrain_drain_audit_view(v_after));
end $$;

create function drain_disable(p_drain uuid, p_actor text) returns void
language plpgsql as $$
declare
    v_before drains := logdrain_lock_drain(p_drain, p_actor);
    v_after drains;
begin
    update drains set enabled = false,
        disabled_reason = case when enabled then 'manual' else disabled_reason end, updated_at = now()
    where id = p_drain returning * into v_after;
    perform logdrain_audit(v_after.account_id, p_drain, lower(p_actor), 'drain.disable',
        logdrain_drain_audit_view(v_before), logdrain_drain_audit_view(v_after));
end $$;

create function drain_delete(p_drain uuid, p_actor text) returns void
language plpgsql as $$
declare
    v_before drains := logdrain_lock_drain(p_drain, p_actor);
begin
    delete from drains where id = p_drain;
    perform logdrain_audit(v_before.account_id, p_drain, lower(p_actor), 'drain.delete',
        logdrain_drain_audit_view(v_before), null);
end $$;

-- Status for operators and psql users: everything but the secret, the URL redacted, and lag
-- (age of the oldest line not yet delivered).
create view drain_status as
select d.id, a.name as account, d.account_id, d.name, logdrain_redact_url(d.url) as url,
       d.enabled, d.disabled_reason, d.sampling_rate, d.consecutive_failures,
       d.last_success_at, d.last_failure_at, d.last_error, d.last_attempt_at, d.created_at, d.updated_at,
       d.delivered_lines, d.batch_delivery_id as pending_delivery_id, d.batch_attempts as pending_attempts,
       d.batch_lines as pending_lines, d.lease_owner, d.lease_expires_at, d.next_due_at,
       extract(epoch from now() - oldest.received_at)::double precision as lag_seconds
from drains d
join accounts a on a.id = d.account_id
left join lateral (
    select l.received_at from logs l
    where l.account_id = d.account_id and (l.xact_id, l.id) > (d.cursor_xact, d.cursor_id)
      and (d.start_snapshot is null or l.ts >= d.start_ts or not pg_visible_in_snapshot(l.xact_id, d.start_snapshot))
    order by l.xact_id, l.id limit 1
) oldest on true;

-- Prechecks for drain-admin, run before it sends a test line (so a refusal sends nothing);
-- the functions above enforce the same rules again when they write.
create function drain_precheck(p_account text, p_actor text, p_enabling boolean, p_drain uuid default null)
returns void language plpgsql stable as $$
declare
    v_account bigint := logdrain_account_id(p_account);
begin
    perform logdrain_require_admin(v_account, p_actor);
    if p_enabling and exists (select 1 from drains where account_id = v_account and enabled
                              and id is distinct from p_drain) then
        perform logdrain_raise_one_enabled(v_account);
    end if;
end $$;

create function drain_precheck(p_drain uuid, p_actor text) returns text
language plpgsql stable as $$
declare
    v_account text;
begin
    select a.name into v_account from drains d join accounts a on a.id = d.account_id where d.id = p_drain;
    if not found then
        raise exception 'drain: no drain with id %', p_drain using errcode = 'P0002';
    end if;
    perform drain_precheck(v_account, p_actor, false);
    return v_account;
end $$;
