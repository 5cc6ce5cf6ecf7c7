-- The security boundary (DESIGN §5): four NOLOGIN group roles with least privilege, PUBLIC with
-- nothing on the schema's tables, admin functions SECURITY DEFINER with a pinned search_path,
-- and identity verified from the session's login role, not taken from --as.
--
-- Only roles holding a privilege can write a table, so the grants below are the whole rule:
-- nobody but the owner (and the functions it owns) updates drains, accounts or memberships.
--
-- Operators grant the groups to login roles (`create role alice login in role logdrain_member`)
-- and link a member's email to a login role (`member_add(account, email, role, 'alice')`).

do $$
declare
    r text;
begin
    foreach r in array array['logdrain_producer', 'logdrain_worker', 'logdrain_member', 'logdrain_operator'] loop
        if not exists (select 1 from pg_roles where rolname = r) then
            execute format('create role %I nologin', r);
        end if;
    end loop;
end $$;

-- A login role acts for at most one member email.
alter table users add column db_role text unique;

-- An operator session: a superuser, the schema's owner, or a member of logdrain_operator.
-- session_user is the login role even inside SECURITY DEFINER functions.
create function logdrain_is_operator_session() returns boolean
language sql stable security definer as $$
    select coalesce((select rolsuper from pg_roles where rolname = session_user), false)
        or pg_has_role(session_user, 'logdrain_operator', 'member')
        or session_user = (select pg_get_userbyid(relowner) from pg_class where oid = 'drains'::regclass)
$$;

-- The actor a session may name: anyone in an operator session (platform automation), otherwise
-- only the email linked to the session's login role.
create function logdrain_verified_actor(p_actor text) returns text
language plpgsql stable security definer as $$
declare
    v_linked text;
begin
    if logdrain_is_operator_session() then return lower(p_actor); end if;
    select email into v_linked from users where db_role = session_user;
    if v_linked is null then
        raise exception 'permission denied: login role % is not linked to a member (operators link it with member add ... --db-role %)',
            session_user, session_user using errcode = '42501';
    end if;
    if lower(p_actor) is distinct from v_linked then
        raise exception 'permission denied: this session (role %) acts only as %, not %', session_user, v_linked,
            coalesce(p_actor, '(no actor)') using errcode = '42501';
    end if;
    return v_linked;
end $$;

create function logdrain_require_operator() returns void
language plpgsql stable security definer as $$
begin
    if not logdrain_is_operator_session() then
        raise exception 'permission denied: accounts, members and tokens are managed in an operator session (a member of logdrain_operator)'
            using errcode = '42501';
    end if;
end $$;

-- Every drain function checks the admin role here: now of the verified actor.
create or replace function logdrain_require_admin(p_account_id bigint, p_actor text) returns void
language plpgsql stable as $$
declare
    v_actor text := logdrain_verified_actor(p_actor);
begin
    if v_actor is null or not exists (
        select 1 from memberships m join users u on u.id = m.user_id
        where m.account_id = p_account_id and u.email = v_actor and m.role = 'admin') then
        raise exception 'permission denied: % is not an admin of account %', coalesce(p_actor, '(no actor)'),
            (select name from accounts where id = p_account_id) using errcode = '42501';
    end if;
end $$;

create or replace function account_create(p_name text) returns accounts
language plpgsql as $$
declare
    v accounts;
begin
    perform logdrain_require_operator();
    if p_name is null or p_name !~ '^[a-z0-9-]{1,63}$' then
        raise exception 'account: must be 1-63 characters of a-z, 0-9 and ''-'' (got %)', coalesce(p_name, 'null') using errcode = '22023';
    end if;
    insert into accounts (name) values (p_name) returning * into v;
    perform logdrain_audit(v.id, null, 'operator', 'account.create', null, jsonb_build_object('name', v.name));
    return v;
exception when unique_violation then
    raise exception 'account: an account named % already exists', p_name using errcode = '23505';
end $$;

-- member_add gains the login role link (§5); the 3-argument form stays callable.
drop function member_add(text, text, text);
create function member_add(p_account text, p_email text, p_role text, p_db_role text default null) returns void
language plpgsql as $$
declare
    v_account bigint;
    v_user bigint;
    v_before text;
begin
    perform logdrain_require_operator();
    v_account := logdrain_account_id(p_account);
    if p_email is null or lower(p_email) !~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$' then
        raise exception 'email: must be an address like name@example.com (got %)', coalesce(p_email, 'null') using errcode = '22023';
    end if;
    if p_role is null or p_role not in ('admin', 'member') then
        raise exception 'role: must be admin or member (got %)', coalesce(p_role, 'null') using errcode = '22023';
    end if;
    if p_db_role is not null and not exists (select 1 from pg_roles where rolname = p_db_role and rolcanlogin) then
        raise exception 'db-role: no login role named %', p_db_role using errcode = '22023';
    end if;
    if p_db_role is not null and exists (select 1 from users where db_role = p_db_role and email <> lower(p_email)) then
        raise exception 'db-role: login role % is already linked to %', p_db_role,
            (select email from users where db_role = p_db_role) using errcode = '22023';
    end if;
    insert into users (email) values (lower(p_email)) on conflict (email) do nothing;
    select id into v_user from users where email = lower(p_email);
    if p_db_role is not null then
        update users set db_role = p_db_role where id = v_user;
    end if;
    select role into v_before from memberships where account_id = v_account and user_id = v_user;
    insert into memberships (account_id, user_id, role) values (v_account, v_user, p_role)
        on conflict (account_id, user_id) do update set role = excluded.role;
    perform logdrain_audit(v_account, null, 'operator', 'member.add',
        case when v_before is null then null else jsonb_build_object('email', lower(p_email), 'role', v_before) end,
        jsonb_build_object('email', lower(p_email), 'role', p_role) || coalesce(jsonb_build_object('db_role', p_db_role), '{}'));
end $$;

-- The id producers write for an account name (NULL when there is none).
create function logdrain_account_id_or_null(p_account text) returns bigint
language sql stable as $$
    select id from accounts where name = p_account
$$;

-- The accounts a session may see: all in an operator session, else those its login role is a
-- member of. One rule for the status views and drain_endpoint, decided once per query.
create view logdrain_visible_accounts as
select a.id as account_id from accounts a where (select logdrain_is_operator_session())
union
select m.account_id from memberships m join users u on u.id = m.user_id where u.db_role = session_user;

create function logdrain_visible_account(p_account_id bigint) returns boolean
language sql stable security definer as $$
    select p_account_id in (select account_id from logdrain_visible_accounts)
$$;

-- Status with the retention gap (§2.14), filtered to what the session may see;
-- security_barrier: a member's own conditions never run on rows the filter hides.
create or replace view drain_status with (security_barrier) as
select d.id, a.name as account, d.account_id, d.name, logdrain_redact_url(d.url) as url,
       d.enabled, d.disabled_reason, d.sampling_rate, d.consecutive_failures,
       d.last_success_at, d.last_failure_at, d.last_error, d.last_attempt_at, d.created_at, d.updated_at,
       d.delivered_lines, d.batch_delivery_id as pending_delivery_id, d.batch_attempts as pending_attempts,
       d.batch_lines as pending_lines, d.lease_owner, d.lease_expires_at, d.next_due_at,
       extract(epoch from now() - oldest.received_at)::double precision as lag_seconds,
       d.gap_lines, d.last_gap_at
from drains d
join accounts a on a.id = d.account_id
left join lateral (
    select l.received_at from logs l
    where l.account_id = d.account_id and (l.xact_id, l.id) > (d.cursor_xact, d.cursor_id)
      and (d.start_snapshot is null or l.ts >= d.start_ts or not pg_visible_in_snapshot(l.xact_id, d.start_snapshot))
    order by l.xact_id, l.id limit 1
) oldest on true
where d.account_id in (select account_id from logdrain_visible_accounts);

create view drain_attempts with (security_barrier) as
select a.* from delivery_attempts a join drains d on d.id = a.drain_id
where d.account_id in (select account_id from logdrain_visible_accounts);

create view account_audit with (security_barrier) as
select e.* from audit_events e
where e.account_id in (select account_id from logdrain_visible_accounts);

-- A drain's URL and stored secret for a test send: to operators, and to the admins of its
-- account (a read-only member sees the redacted URL in drain_status, never the secret).
create function drain_endpoint(p_drain uuid) returns table (url text, secret text)
language plpgsql stable as $$
declare
    v_account bigint;
begin
    select account_id into v_account from drains where id = p_drain;
    if not found or not logdrain_visible_account(v_account) then
        raise exception 'drain: no drain with id %', p_drain using errcode = 'P0002';
    end if;
    if not logdrain_is_operator_session() and not exists (
        select 1 from memberships m join users u on u.id = m.user_id
        where m.account_id = v_account and u.db_role = session_user and m.role = 'admin') then
        raise exception 'permission denied: only an admin of the account may test its endpoint' using errcode = '42501';
    end if;
    return query select d.url, d.secret from drains d where d.id = p_drain;
end $$;

-- SECURITY DEFINER with the search_path pinned to this schema, EXECUTE only where needed.
do $$
declare
    f text;
    s text := quote_ident(current_schema());
begin
    foreach f in array array[
        'account_create(text)', 'member_add(text, text, text, text)',
        'drain_create(text, text, text, text, text, integer, boolean)',
        'drain_update(uuid, text, text, text, integer, text)', 'drain_enable(uuid, text, boolean)',
        'drain_disable(uuid, text)', 'drain_delete(uuid, text)',
        'drain_precheck(text, text, boolean, uuid)', 'drain_precheck(uuid, text)', 'drain_endpoint(uuid)',
        'logdrain_account_id(text)', 'logdrain_account_id_or_null(text)', 'logdrain_replace_secret(uuid, text, text)',
        'logdrain_ensure_partitions(integer)', 'logdrain_drop_partitions(interval)', 'logdrain_count_gap(regclass, timestamptz, timestamptz)',
        'logdrain_is_operator_session()', 'logdrain_verified_actor(text)', 'logdrain_require_operator()',
        'logdrain_visible_account(bigint)'] loop
        execute format('alter function %s security definer set search_path = %s, pg_temp', f, s);
        execute format('revoke execute on function %s from public', f);
    end loop;
    -- Helpers that never run on their own with more than the caller's rights.
    foreach f in array array['logdrain_require_admin(bigint, text)', 'logdrain_lock_drain(uuid, text)',
                             'logdrain_audit(bigint, uuid, text, text, jsonb, jsonb)', 'logdrain_raise_one_enabled(bigint)'] loop
        execute format('alter function %s set search_path = %s, pg_temp', f, s);
    end loop;
end $$;

do $$
begin
    execute format('revoke all on all tables in schema %I from public', current_schema());
    execute format('revoke all on all sequences in schema %I from public', current_schema());
    execute format('grant select on all tables in schema %I to logdrain_operator', current_schema());
end $$;

-- Producers: write log rows, nothing else.
grant insert on logs to logdrain_producer;
grant usage on sequence logs_id_seq to logdrain_producer;
grant execute on function logdrain_account_id_or_null(text) to logdrain_producer, logdrain_operator;

-- Workers: read drains and logs, keep their heartbeat row. Every write to a drain, its history
-- and its auto-disable audit goes through the logdrain_worker_* SECURITY DEFINER functions that
-- `migrate` creates from Sources/DrainStore/SQL.swift (WorkerFunction.swift): no direct UPDATE.
grant select on drains, logs to logdrain_worker;
grant select, insert, update, delete on workers to logdrain_worker;

-- Members: the drain functions and read-only status of their own accounts.
grant select on drain_status, drain_attempts, account_audit, workers to logdrain_member;
grant execute on function drain_create(text, text, text, text, text, integer, boolean), drain_update(uuid, text, text, text, integer, text),
    drain_enable(uuid, text, boolean), drain_disable(uuid, text), drain_delete(uuid, text),
    drain_precheck(text, text, boolean, uuid), drain_precheck(uuid, text), drain_endpoint(uuid),
    logdrain_account_id(text), logdrain_visible_account(bigint), logdrain_is_operator_session(),
    logdrain_verified_actor(text) to logdrain_member;

-- Operators: everything drain-admin does, as anyone.
grant logdrain_member to logdrain_operator;
grant insert on logs to logdrain_operator;
grant usage on sequence logs_id_seq to logdrain_operator;
grant delete on workers to logdrain_operator;
grant execute on function account_create(text), member_add(text, text, text, text), logdrain_replace_secret(uuid, text, text),
    logdrain_ensure_partitions(integer), logdrain_drop_partitions(interval), logdrain_count_gap(regclass, timestamptz, timestamptz),
    logdrain_require_operator() to logdrain_operator;
