-- Operations (issue: deployable units, metrics, maintenance).
--
-- 1. Upkeep settings live in the database, so `drain-admin maintain` and the workers' hourly run
--    use the same days ahead and retention: a worker never drops what an operator meant to keep.
-- 2. logdrain_maintain runs the upkeep under a transaction-scoped advisory lock, so however
--    many workers (and timers) call it, one runs it at a time; a worker's call does nothing
--    unless the last run is an hour old.
-- 3. The watermark-age metric reads pg_stat_activity; other roles' transactions are visible
--    there only to pg_read_all_stats, granted here when this session may.

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

-- Upkeep now. p_days_ahead / p_retention_days, when given, are saved as the new settings first.
-- p_if_older_than: skip (return null) unless the last run is at least that old; a worker passes
-- one hour. Returns (created, dropped) or no row when skipped or another session is running it.
create function logdrain_maintain(p_days_ahead integer, p_retention_days integer, p_if_older_than interval, p_by text)
returns table (created integer, dropped integer, days_ahead integer, retention_days integer)
language plpgsql as $$
declare
    s maintenance_settings;
begin
    -- "logdrain" + 1: not the migration lock's key.
    if not pg_try_advisory_xact_lock(7813292766018038127) then
        if p_if_older_than is not null then return; end if;
        perform pg_advisory_xact_lock(7813292766018038127);
    end if;
    if p_days_ahead is not null and p_days_ahead not between 1 and 366 then
        raise exception 'days-ahead: must be between 1 and 366 (got %)', p_days_ahead using errcode = '22023';
    end if;
    if p_retention_days is not null and p_retention_days not between 1 and 3650 then
        raise exception 'retention-days: must be between 1 and 3650 (got %)', p_retention_days using errcode = '22023';
    end if;
    update maintenance_settings m set days_ahead = coalesce(p_days_ahead, m.days_ahead),
                                      retention_days = coalesce(p_retention_days, m.retention_days)
        returning * into s;
    if p_if_older_than is not null and s.last_run_at > now() - p_if_older_than then
        return;
    end if;
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
    execute format('alter function logdrain_maintain(integer, integer, interval, text) security definer set search_path = %s, pg_temp', s);
    revoke execute on function logdrain_maintain(integer, integer, interval, text) from public;
    grant execute on function logdrain_maintain(integer, integer, interval, text) to logdrain_worker, logdrain_operator;
    revoke all on maintenance_settings from public;
    grant select on maintenance_settings to logdrain_operator, logdrain_member;
    begin
        grant pg_read_all_stats to logdrain_worker;
    exception when insufficient_privilege then
        raise notice 'logdrain_worker was not granted pg_read_all_stats (a superuser can): the watermark age metric sees only the workers'' own transactions';
    end;
end $$;
