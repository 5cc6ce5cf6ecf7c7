-- Sign-in tokens and dashboard sessions (DESIGN §6).
--
-- A token is `ldt_` and 64 hex digits (256 random bits). The database keeps its first 12 hex
-- digits as a lookup key and the SHA-256 of the whole token; `drain-admin serve` finds the row by
-- the key and compares the hash in constant time, so neither the token nor anything that could
-- stand in for it is stored. A token belongs to one membership: removing the member, or
-- `token revoke`, ends it and every dashboard session signed in with it.

create table api_tokens (
    id           bigint generated always as identity primary key,
    lookup_key   text not null unique constraint api_tokens_lookup_key check (lookup_key ~ '^[0-9a-f]{12}$'),
    token_hash   text not null constraint api_tokens_hash check (token_hash ~ '^[0-9a-f]{64}$'),
    account_id   bigint not null,
    user_id      bigint not null,
    created_at   timestamptz not null default now(),
    last_used_at timestamptz,
    foreign key (account_id, user_id) references memberships (account_id, user_id) on delete cascade
);
-- For token_revoke and the cascade from memberships.
create index api_tokens_member on api_tokens (account_id, user_id);

-- A dashboard session: the cookie holds 256 random bits, the table their SHA-256 (a hash of a
-- random value of that size is safe to look up by equality). Sessions end with their token.
create table dashboard_sessions (
    session_hash text primary key constraint dashboard_sessions_hash check (session_hash ~ '^[0-9a-f]{64}$'),
    token_id     bigint not null references api_tokens on delete cascade,
    csrf_token   text not null,
    created_at   timestamptz not null default now(),
    expires_at   timestamptz not null
);
create index dashboard_sessions_expiry on dashboard_sessions (expires_at);
create index dashboard_sessions_token on dashboard_sessions (token_id);

-- The account and user ids of a member, or the error that names what is wrong.
create function logdrain_member_ids(p_account text, p_email text, out account_id bigint, out user_id bigint)
language plpgsql stable as $$
begin
    select a.id into account_id from accounts a where a.name = p_account;
    if account_id is null then
        raise exception 'account: no account named %', coalesce(p_account, 'null') using errcode = 'P0002';
    end if;
    select u.id into user_id from users u join memberships m on m.user_id = u.id and m.account_id = logdrain_member_ids.account_id
        where u.email = lower(p_email);
    if user_id is null then
        raise exception 'email: % is not a member of account % (add them with member add first)',
            coalesce(p_email, 'null'), p_account using errcode = 'P0002';
    end if;
end $$;

create function token_create(p_account text, p_email text, p_lookup_key text, p_token_hash text) returns timestamptz
language plpgsql as $$
declare
    m record;
    v_at timestamptz;
begin
    perform logdrain_require_operator();
    m := logdrain_member_ids(p_account, p_email);
    insert into api_tokens (lookup_key, token_hash, account_id, user_id) values (p_lookup_key, p_token_hash, m.account_id, m.user_id)
        returning created_at into v_at;
    perform logdrain_audit(m.account_id, null, 'operator', 'token.create', null, jsonb_build_object('email', lower(p_email)));
    return v_at;
end $$;

-- Ends every token of the member (and so every dashboard session of theirs); returns how many.
create function token_revoke(p_account text, p_email text) returns integer
language plpgsql as $$
declare
    m record;
    v_count integer;
begin
    perform logdrain_require_operator();
    m := logdrain_member_ids(p_account, p_email);
    delete from api_tokens t where t.account_id = m.account_id and t.user_id = m.user_id;
    get diagnostics v_count = row_count;
    perform logdrain_audit(m.account_id, null, 'operator', 'token.revoke', null,
                           jsonb_build_object('email', lower(p_email), 'tokens', v_count));
    return v_count;
end $$;

-- The candidate for a presented token; the caller compares the hash (in constant time).
-- `stale`: last_used_at is unset or a minute old, so the caller (once the hash matched) records
-- the use; within the minute a request costs no write.
create function logdrain_token_lookup(p_lookup_key text)
returns table (token_id bigint, token_hash text, account text, email text, role text, stale boolean)
language sql stable as $$
    select t.id, t.token_hash, a.name, u.email, m.role,
           t.last_used_at is null or t.last_used_at < now() - interval '1 minute'
    from api_tokens t
    join accounts a on a.id = t.account_id
    join users u on u.id = t.user_id
    join memberships m on m.account_id = t.account_id and m.user_id = t.user_id
    where t.lookup_key = p_lookup_key
$$;

create function logdrain_token_used(p_token_id bigint) returns void
language sql as $$
    update api_tokens set last_used_at = now() where id = p_token_id
$$;

-- False when the token was revoked meanwhile (then there is no session to make).
create function logdrain_session_create(p_token_id bigint, p_session_hash text, p_csrf text, p_seconds integer) returns boolean
language plpgsql as $$
begin
    delete from dashboard_sessions where expires_at < now();
    insert into dashboard_sessions (session_hash, token_id, csrf_token, expires_at)
    select p_session_hash, t.id, p_csrf, now() + make_interval(secs => p_seconds)
    from api_tokens t where t.id = p_token_id for key share of t;
    return found;
end $$;

create function logdrain_session_lookup(p_session_hash text)
returns table (token_id bigint, account text, email text, role text, csrf_token text)
language sql stable as $$
    select t.id, a.name, u.email, m.role, s.csrf_token
    from dashboard_sessions s
    join api_tokens t on t.id = s.token_id
    join accounts a on a.id = t.account_id
    join users u on u.id = t.user_id
    join memberships m on m.account_id = t.account_id and m.user_id = t.user_id
    where s.session_hash = p_session_hash and s.expires_at > now()
$$;

create function logdrain_session_delete(p_session_hash text) returns void
language sql as $$
    delete from dashboard_sessions where session_hash = p_session_hash
$$;

-- Operators only (the server runs in an operator session and vouches for the token's member).
do $$
declare
    f text;
    s text := quote_ident(current_schema());
begin
    execute format('alter function logdrain_member_ids(text, text) set search_path = %s, pg_temp', s);
    revoke execute on function logdrain_member_ids(text, text) from public;
    foreach f in array array[
        'token_create(text, text, text, text)', 'token_revoke(text, text)', 'logdrain_token_lookup(text)',
        'logdrain_token_used(bigint)', 'logdrain_session_create(bigint, text, text, integer)',
        'logdrain_session_lookup(text)', 'logdrain_session_delete(text)'] loop
        execute format('alter function %s security definer set search_path = %s, pg_temp', f, s);
        execute format('revoke execute on function %s from public', f);
        execute format('grant execute on function %s to logdrain_operator', f);
    end loop;
    execute format('revoke all on api_tokens, dashboard_sessions from public');
end $$;
