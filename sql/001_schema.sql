-- LogDrain schema: accounts and their admins, drains with their stream cursor and lease,
-- the shared logs table (a public contract for producers), delivery history, audit, workers.

create table accounts (
    id         bigint generated always as identity primary key,
    name       text not null unique constraint accounts_name_format check (name ~ '^[a-z0-9-]{1,63}$'),
    created_at timestamptz not null default now()
);

create table users (
    id         bigint generated always as identity primary key,
    email      text not null unique constraint users_email_format check (email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
    created_at timestamptz not null default now()
);

create table memberships (
    account_id bigint not null references accounts on delete cascade,
    user_id    bigint not null references users on delete cascade,
    role       text not null constraint memberships_role check (role in ('admin', 'member')),
    created_at timestamptz not null default now(),
    primary key (account_id, user_id)
);

create table drains (
    id              uuid primary key default gen_random_uuid(),
    account_id      bigint not null references accounts on delete cascade,
    name            text not null constraint drains_name_length check (char_length(name) between 1 and 100),
    url             text not null constraint drains_url_https check (
                        url ~* '^https://([^/?#@]*@)?(\[[0-9a-f:.]+\]|[^/?#:@\[\]]+)(:[0-9]{1,5})?([/?#].*)?$'
                        and url !~ '[[:space:][:cntrl:]]'),
    secret          text not null constraint drains_secret_length check (char_length(secret) >= 64),
    sampling_rate   integer not null default 1000 constraint drains_sampling_rate check (sampling_rate between 1 and 5000),
    enabled         boolean not null default true,
    disabled_reason text constraint drains_disabled_reason check (disabled_reason in ('manual', 'failures')),
    constraint drains_reason_iff_disabled check (enabled = (disabled_reason is null)),

    consecutive_failures integer not null default 0,
    last_attempt_at timestamptz,
    last_success_at timestamptz,
    last_failure_at timestamptz,
    last_error      text,
    delivered_lines bigint not null default 0,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),

    -- Position in the account's log stream: (xact_id, id) of the last delivered line.
    cursor_xact     xid8 not null default '0',
    cursor_id       bigint not null default 0,
    -- The new-drain rule (DESIGN 2.8): rows already committed at start_snapshot are delivered
    -- only when their ts >= start_ts. Cleared once the cursor passes the snapshot.
    start_ts        timestamptz,
    start_snapshot  pg_snapshot,
    -- The pending batch, fixed at its first attempt so that retries resend the same bytes.
    batch_end_xact  xid8,
    batch_end_id    bigint,
    batch_delivery_id uuid,
    batch_attempts  integer not null default 0,
    batch_lines     integer,

    -- Scheduling and the lease. Claiming pushes next_due_at to the lease expiry, so a crashed
    -- worker's drain becomes due again exactly when its lease runs out.
    next_due_at      timestamptz not null default now(),
    lease_owner      text,
    lease_expires_at timestamptz,
    lease_token      bigint not null default 0,
    attempt_seq      bigint not null default 0
);

-- One enabled drain per account, under any concurrency.
create unique index drains_one_enabled_per_account on drains (account_id) where enabled;
create index drains_due on drains (next_due_at) where enabled;
create index drains_account on drains (account_id);

-- The shared log table. Producers name account_id, ts, message, level and the optional fal_*
-- columns; everything else has a default. xact_id orders rows by writing transaction, which a
-- worker reads only below the oldest running transaction (nothing can commit before it).
create sequence logs_id_seq as bigint;

create table logs (
    id                 bigint not null default nextval('logs_id_seq'),
    account_id         bigint not null,
    ts                 timestamptz not null,
    message            text not null,
    level              text not null,
    fal_app_name       text,
    fal_app_id         text,
    fal_request_id     text,
    fal_job_id         text,
    fal_endpoint       text,
    fal_node_id        text,
    fal_worker_id      text,
    fal_source         text,
    fal_isolate_source text,
    xact_id            xid8 not null default pg_current_xact_id(),
    received_at        timestamptz not null default now()
) partition by range (received_at);

alter sequence logs_id_seq owned by logs.id;

-- "This account's rows after this cursor, in commit order."
create index logs_stream on logs (account_id, xact_id, id);

-- A safety net: a producer never meets a missing partition, even if upkeep has lapsed.
create table logs_default partition of logs default;

-- Daily partitions on received_at (UTC days), created ahead by migrate and maintain.
create function logdrain_ensure_partitions(days_ahead integer default 7) returns integer
language plpgsql as $$
declare
    day date := (now() at time zone 'UTC')::date;
    last date := day + days_ahead;
    created integer := 0;
    part text;
begin
    while day <= last loop
        part := format('logs_p%s', to_char(day, 'YYYYMMDD'));
        if to_regclass(part) is null then
            execute format('create table %I partition of logs for values from (%L) to (%L)',
                           part, (day::timestamp at time zone 'UTC'), ((day + 1)::timestamp at time zone 'UTC'));
            created := created + 1;
        end if;
        day := day + 1;
    end loop;
    return created;
end $$;

-- Drops whole days older than the retention; returns how many partitions went.
create function logdrain_drop_partitions(retention interval) returns integer
language plpgsql as $$
declare
    cutoff date := ((now() - retention) at time zone 'UTC')::date;
    r record;
    dropped integer := 0;
begin
    for r in select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
             where i.inhparent = 'logs'::regclass and c.relname ~ '^logs_p[0-9]{8}$'
               and to_date(substring(c.relname from 7), 'YYYYMMDD') < cutoff
    loop
        execute format('drop table %I', r.relname);
        dropped := dropped + 1;
    end loop;
    return dropped;
end $$;

select logdrain_ensure_partitions(7);

-- The last attempts per drain, a ring of 20 slots: bounded without deletes.
create table delivery_attempts (
    drain_id    uuid not null references drains on delete cascade,
    slot        integer not null,
    delivery_id uuid,
    attempt     integer not null,
    lines       integer not null,
    bytes       integer not null,
    status      integer,
    error       text,
    duration_ms integer,
    worker      text,
    at          timestamptz not null default now(),
    primary key (drain_id, slot)
);

create table audit_events (
    id         bigint generated always as identity primary key,
    account_id bigint references accounts on delete cascade,
    drain_id   uuid,
    actor      text not null,
    action     text not null,
    before     jsonb,
    after      jsonb,
    at         timestamptz not null default now()
);
create index audit_events_account on audit_events (account_id, id);

create table workers (
    name         text primary key,
    host         text not null,
    pid          integer not null,
    started_at   timestamptz not null default now(),
    heartbeat_at timestamptz not null default now(),
    in_flight    integer not null default 0
);
