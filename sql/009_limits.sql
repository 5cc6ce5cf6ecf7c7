-- One home for each number (issue 8): the sampling-rate bounds and default, the new-drain
-- window and the endpoint URL rule are read from `logdrain_limit(name)` and
-- `logdrain_endpoint_url_ok(url)` instead of being written out in each function. `drain-admin
-- migrate` creates `logdrain_limit` before the migrations run, from DrainCore's `Limits`
-- (Sources/DrainCore/Limits.swift), so Swift and SQL cannot disagree.

-- The endpoint URL rule, for the table's constraint and the admin functions alike.
create or replace function logdrain_endpoint_url_ok(p_url text) returns boolean
language sql immutable as $$
    select p_url ~* '^https://([^/?#@]*@)?(\[[0-9a-f:.]+\]|[^/?#:@\[\]]+)(:[0-9]{1,5})?([/?#].*)?$'
           and p_url !~ '[[:space:][:cntrl:]]'
$$;

alter table drains
    drop constraint drains_url_https,
    add constraint drains_url_https check (logdrain_endpoint_url_ok(url)),
    drop constraint drains_sampling_rate,
    add constraint drains_sampling_rate check (
        sampling_rate between logdrain_limit('min_sampling_rate') and logdrain_limit('max_sampling_rate')),
    alter column sampling_rate set default logdrain_limit('default_sampling_rate');

create or replace function logdrain_check_drain_fields(p_name text, p_url text, p_secret text, p_sampling_rate integer)
returns void language plpgsql immutable as $$
declare
    v_port text;
begin
    if p_name is not null and (char_length(p_name) not between 1 and 100 or p_name ~ '[[:cntrl:]]') then
        raise exception 'name: must be 1-100 characters (got %)', char_length(p_name) using errcode = '22023';
    end if;
    if p_url is not null then
        if not logdrain_endpoint_url_ok(p_url) then
            raise exception 'url: must be an https:// URL with a host (got %)', logdrain_redact_url(p_url) using errcode = '22023';
        end if;
        if octet_length(p_url) > 2048 then
            raise exception 'url: must be at most 2048 characters' using errcode = '22023';
        end if;
        v_port := (regexp_match(p_url, '^https://(?:[^/?#@]*@)?(?:\[[0-9A-Fa-f:.]+\]|[^/?#:@\[\]]+):([0-9]{1,5})(?:[/?#]|$)'))[1];
        if v_port is not null and v_port::int not between 1 and 65535 then
            raise exception 'url: has an invalid port' using errcode = '22023';
        end if;
    end if;
    if p_secret is not null and char_length(p_secret) < 64 then
        raise exception 'secret: must be at least 64 characters (got %)', char_length(p_secret) using errcode = '22023';
    end if;
    if p_secret is not null and p_secret ~ '[[:cntrl:]]' then
        raise exception 'secret: must not contain control characters or newlines' using errcode = '22023';
    end if;
    if p_sampling_rate is not null
       and p_sampling_rate not between logdrain_limit('min_sampling_rate') and logdrain_limit('max_sampling_rate') then
        raise exception 'sampling-rate: must be between % and % (got %)', logdrain_limit('min_sampling_rate'),
            logdrain_limit('max_sampling_rate'), p_sampling_rate using errcode = '22023';
    end if;
end $$;

-- The default rate and the new-drain window from the limits (the rest as in 002_admin.sql).
create or replace function drain_create(p_account text, p_actor text, p_name text, p_url text, p_secret text,
                                        p_sampling_rate integer default logdrain_limit('default_sampling_rate')::int,
                                        p_enabled boolean default true)
returns uuid language plpgsql as $$
declare
    v_account bigint := logdrain_account_id(p_account);
    v_rate integer := coalesce(p_sampling_rate, logdrain_limit('default_sampling_rate'));
    v drains;
begin
    perform logdrain_require_admin(v_account, p_actor);
    if p_name is null then raise exception 'name: is required' using errcode = '22023'; end if;
    if p_url is null then raise exception 'url: is required' using errcode = '22023'; end if;
    if p_secret is null then raise exception 'secret: is required' using errcode = '22023'; end if;
    perform logdrain_check_drain_fields(p_name, p_url, p_secret, v_rate);
    begin
        insert into drains (account_id, name, url, secret, sampling_rate, enabled, disabled_reason, start_ts, start_snapshot)
        values (v_account, p_name, p_url, p_secret, v_rate, p_enabled,
                case when p_enabled then null else 'manual' end,
                now() - make_interval(secs => logdrain_limit('recent_window_seconds')), pg_current_snapshot())
        returning * into v;
    exception when unique_violation then
        perform logdrain_raise_one_enabled(v_account);
    end;
    perform logdrain_audit(v_account, v.id, lower(p_actor), 'drain.create', null, logdrain_drain_audit_view(v));
    return v.id;
end $$;

create or replace function drain_enable(p_drain uuid, p_actor text, p_skip_backlog boolean default false)
returns void language plpgsql as $$
declare
    v_before drains := logdrain_lock_drain(p_drain, p_actor);
    v_after drains;
begin
    begin
        update drains set enabled = true, disabled_reason = null, consecutive_failures = 0,
            next_due_at = now(), lease_owner = null, lease_expires_at = null, lease_token = lease_token + 1,
            start_ts = case when p_skip_backlog then now() - make_interval(secs => logdrain_limit('recent_window_seconds'))
                            else start_ts end,
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

-- CREATE OR REPLACE resets what 006_roles.sql set: pin them again (EXECUTE grants are kept).
do $$
declare
    f text;
    s text := quote_ident(current_schema());
begin
    foreach f in array array['drain_create(text, text, text, text, text, integer, boolean)',
                             'drain_enable(uuid, text, boolean)'] loop
        execute format('alter function %s security definer set search_path = %s, pg_temp', f, s);
    end loop;
    execute format('alter function logdrain_check_drain_fields(text, text, text, integer) set search_path = %s, pg_temp', s);
    execute format('alter function logdrain_endpoint_url_ok(text) set search_path = %s, pg_temp', s);
end $$;
