-- Delivery v2 (DESIGN §2.11-2.15): outcomes tied to the configuration they were sent with,
-- retention gaps that never wedge a drain, a byte cap with producer limits, and upkeep that
-- works whatever the default partition holds.

-- §2.15: bumped whenever the URL or the secret changes; a failure counts only against the
-- version it was sent with.
alter table drains add column config_version bigint not null default 1;

-- §2.14: lines removed (retention, or by hand) before they were delivered.
alter table drains add column gap_lines bigint not null default 0;
alter table drains add column last_gap_at timestamptz;

-- §2.13: a batch of one huge line can exceed 2 GiB of escaped JSON; never overflow.
alter table delivery_attempts alter column bytes type bigint;

-- §2.13: producer limits, as CHECK constraints (SQLSTATE 23514 for an INSERT or COPY that
-- breaks them). On a table that already holds rows over the limits, the constraints are added
-- NOT VALID: every new row is checked, the old ones stay (the worker sends such a row as a
-- batch of its own).
do $$
declare
    c record;
begin
    for c in select * from (values
        ('logs_message_size', 'octet_length(message) <= 1048576'),
        ('logs_level_size', 'octet_length(level) <= 64'),
        ('logs_fal_size', 'coalesce(octet_length(fal_app_name), 0) <= 1024 and coalesce(octet_length(fal_app_id), 0) <= 1024
            and coalesce(octet_length(fal_request_id), 0) <= 1024 and coalesce(octet_length(fal_job_id), 0) <= 1024
            and coalesce(octet_length(fal_endpoint), 0) <= 1024 and coalesce(octet_length(fal_node_id), 0) <= 1024
            and coalesce(octet_length(fal_worker_id), 0) <= 1024 and coalesce(octet_length(fal_source), 0) <= 1024
            and coalesce(octet_length(fal_isolate_source), 0) <= 1024')) as v(name, expr)
    loop
        begin
            execute format('alter table logs add constraint %I check (%s)', c.name, c.expr);
        exception when check_violation then
            execute format('alter table logs add constraint %I check (%s) not valid', c.name, c.expr);
            raise notice 'logs already holds rows over the limit of %; the constraint applies to new rows', c.name;
        end;
    end loop;
end $$;

-- A new URL or secret bumps config_version (§2.15); otherwise as in 002.
create or replace function drain_update(p_drain uuid, p_actor text, p_name text default null, p_url text default null,
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
                      secret = coalesce(p_secret, secret), updated_at = now(),
                      config_version = config_version
                          + case when p_url is distinct from null and p_url is distinct from url
                                   or p_secret is distinct from null and p_secret is distinct from secret
                                 then 1 else 0 end
    where id = p_drain returning * into v_after;
    v_after_json := logdrain_drain_audit_view(v_after);
    if p_secret is not null then v_after_json := v_after_json || '{"secret": "*** (changed)"}'; end if;
    perform logdrain_audit(v_after.account_id, p_drain, lower(p_actor), 'drain.update',
                           logdrain_drain_audit_view(v_before), v_after_json);
end $$;

-- Counts, per drain, the undelivered lines of `part` (beyond the cursor, or beyond the pending
-- batch, whose own missing lines the worker counts when it re-reads it) before they go.
create function logdrain_count_gap(part regclass, lo timestamptz default null, hi timestamptz default null)
returns void language plpgsql as $$
begin
    execute format($q$
        update drains d set gap_lines = d.gap_lines + g.n, last_gap_at = now()
        from (
            select d2.id, count(*) as n
            from drains d2 join %s l on l.account_id = d2.account_id
             and (l.xact_id, l.id) > (coalesce(d2.batch_end_xact, d2.cursor_xact), coalesce(d2.batch_end_id, d2.cursor_id))
            where (d2.start_snapshot is null or l.ts >= d2.start_ts or not pg_visible_in_snapshot(l.xact_id, d2.start_snapshot))
              and ($1::timestamptz is null or l.received_at < $1)
            group by d2.id
        ) g
        where d.id = g.id $q$, part) using hi;
end $$;

-- Daily partitions on received_at, as in 001. Rows that landed in the default partition for a
-- day being created (upkeep lapsed) move into the new partition in the same transaction, so
-- attaching it never meets a conflicting row.
create or replace function logdrain_ensure_partitions(days_ahead integer default 7) returns integer
language plpgsql as $$
declare
    day date := (now() at time zone 'UTC')::date;
    last date := day + days_ahead;
    created integer := 0;
    part text;
    lo timestamptz;
    hi timestamptz;
begin
    while day <= last loop
        part := format('logs_p%s', to_char(day, 'YYYYMMDD'));
        lo := day::timestamp at time zone 'UTC';
        hi := (day + 1)::timestamp at time zone 'UTC';
        if to_regclass(part) is null then
            -- Producers wait for this lock only while rows are moved; it keeps new rows for
            -- the day from landing in the default partition between the move and the attach.
            lock table logs_default in share row exclusive mode;
            if exists (select 1 from logs_default where received_at >= lo and received_at < hi) then
                execute format('create table %I (like logs including defaults including constraints)', part);
                execute format('with moved as (delete from logs_default where received_at >= $1 and received_at < $2 returning *)
                                insert into %I select * from moved', part) using lo, hi;
                execute format('alter table logs attach partition %I for values from (%L) to (%L)', part, lo, hi);
            else
                execute format('create table %I partition of logs for values from (%L) to (%L)', part, lo, hi);
            end if;
            created := created + 1;
        end if;
        day := day + 1;
    end loop;
    return created;
end $$;

-- Drops whole days older than the retention, and default-partition rows older than it,
-- counting each drain's undelivered lines among them as its gap (§2.14).
create or replace function logdrain_drop_partitions(retention interval) returns integer
language plpgsql as $$
declare
    cutoff date := ((now() - retention) at time zone 'UTC')::date;
    cutoff_ts timestamptz := cutoff::timestamp at time zone 'UTC';
    r record;
    dropped integer := 0;
begin
    for r in select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
             where i.inhparent = 'logs'::regclass and c.relname ~ '^logs_p[0-9]{8}$'
               and to_date(substring(c.relname from 7), 'YYYYMMDD') < cutoff
    loop
        perform logdrain_count_gap(r.relname::regclass);
        execute format('drop table %I', r.relname);
        dropped := dropped + 1;
    end loop;
    if exists (select 1 from logs_default where received_at < cutoff_ts) then
        perform logdrain_count_gap('logs_default'::regclass, null, cutoff_ts);
        delete from logs_default where received_at < cutoff_ts;
    end if;
    return dropped;
end $$;
