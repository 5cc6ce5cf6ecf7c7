-- Operations (issue: deployable units, metrics, maintenance).
--
-- 1. Upkeep settings live in the database, so `drain-admin maintain` and the workers' hourly run
--    use the same days ahead and retention: a worker never drops what an operator meant to keep.
-- 2. logdrain_maintain runs the upkeep under a transaction-scoped advisory lock, so however
--    many workers (and timers) call it, one runs it at a time; a worker's call does nothing
--    unless the last run is an hour old.
-- 3. Workers may only ask for the hourly run (logdrain_maintain_if_due); changing the settings,
--    or running upkeep at once, is the operator's (logdrain_maintain).

create table maintenance_settings (
    id               boolean primary key default true constraint maintenance_settings_one_row check (id),
    days_ahead       integer not null default 7 constraint maintenance_days_ahead check (days_ahead between 1 and 366),
    retention_days   integer not null default 7 constraint maintenance_retention_days check (retention_days between 1 and 3650),
    last_run_at      timestamptz,
    last_run_by      text,
    last_created     integer,
    last_dropped     integer
);
insert into maintenance_settings default values;

-- The one upkeep lock (transaction-scoped): every run holds it, and `migrate` takes it before it
-- creates the coming days' partitions. p_wait false: give up at once when it is held.
create function logdrain_lock_upkeep(p_wait boolean) returns boolean
language plpgsql as $$
begin
    if p_wait then
        perform pg_advisory_xact_lock(7813292766018038127);
        return true;
    end if;
    return pg_try_advisory_xact_lock(7813292766018038127);
end $$;

-- Upkeep now (the operator's `drain-admin maintain`). p_days_ahead / p_retention_days, when
-- given, are saved as the new settings first. Waits for a run in progress elsewhere.
create function logdrain_maintain(p_days_ahead integer, p_retention_days integer, p_by text)
returns table (created integer, dropped integer, days_ahead integer, retention_days integer)
language plpgsql as $$
begin
    perform logdrain_require_operator();
    perform logdrain_lock_upkeep(true);
    if p_days_ahead is not null and p_days_ahead not between 1 and 366 then
        raise exception 'days-ahead: must be between 1 and 366 (got %)', p_days_ahead using errcode = '22023';
    end if;
    if p_retention_days is not null and p_retention_days not between 1 and 3650 then
        raise exception 'retention-days: must be between 1 and 3650 (got %)', p_retention_days using errcode = '22023';
    end if;
    update maintenance_settings m set days_ahead = coalesce(p_days_ahead, m.days_ahead),
                                      retention_days = coalesce(p_retention_days, m.retention_days);
    return query select * from logdrain_run_upkeep(p_by);
end $$;

-- A worker's hourly ask: runs the upkeep with the saved settings only when no one has within
-- the hour and no one is running it now; returns no row otherwise. Gives up on a lock it cannot
-- get within a few seconds (a long transaction on logs) rather than queue producers behind it.
create function logdrain_maintain_if_due(p_by text)
returns table (created integer, dropped integer, days_ahead integer, retention_days integer)
language plpgsql set lock_timeout = '5s' as $$
begin
    if not logdrain_lock_upkeep(false) then return; end if;
    if (select last_run_at > now() - interval '1 hour' from maintenance_settings) then return; end if;
    return query select * from logdrain_run_upkeep(p_by);
end $$;

-- The upkeep itself, for the two above (callers hold the advisory lock).
create function logdrain_run_upkeep(p_by text)
returns table (created integer, dropped integer, days_ahead integer, retention_days integer)
language plpgsql as $$
declare
    s maintenance_settings;
begin
    select * into s from maintenance_settings;
    created := logdrain_ensure_partitions(s.days_ahead);
    dropped := logdrain_drop_partitions(make_interval(days => s.retention_days));
    delete from workers where heartbeat_at < now() - interval '1 day';
    update maintenance_settings set last_run_at = now(), last_run_by = p_by, last_created = created, last_dropped = dropped;
    days_ahead := s.days_ahead;
    retention_days := s.retention_days;
    return next;
end $$;

do $$
declare
    s text := quote_ident(current_schema());
begin
    execute format('alter function logdrain_maintain(integer, integer, text) security definer set search_path = %s, pg_temp', s);
    execute format('alter function logdrain_maintain_if_due(text) security definer set search_path = %s, pg_temp', s);
    execute format('alter function logdrain_run_upkeep(text) set search_path = %s, pg_temp', s);
    execute format('alter function logdrain_lock_upkeep(boolean) set search_path = %s, pg_temp', s);
    revoke execute on function logdrain_lock_upkeep(boolean) from public;
    revoke execute on function logdrain_maintain(integer, integer, text), logdrain_maintain_if_due(text),
        logdrain_run_upkeep(text) from public;
    grant execute on function logdrain_maintain(integer, integer, text) to logdrain_operator;
    grant execute on function logdrain_maintain_if_due(text) to logdrain_worker, logdrain_operator;
    revoke all on maintenance_settings from public;
    grant select on maintenance_settings to logdrain_operator;
end $$;
