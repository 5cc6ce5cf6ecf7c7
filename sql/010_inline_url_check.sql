-- The endpoint URL rule as a function PostgreSQL can inline (issue 10). PostgreSQL checks every
-- CHECK constraint of `drains` on every UPDATE of a row, whichever columns change, and the
-- worker updates a drain row three times a visit. With `SET search_path` (pinned in 009) the
-- rule could not be inlined: each row paid a SQL function call and a search_path switch, a
-- quarter of a 64-row update. Its operators are now schema-qualified, so it needs no pinned
-- search_path: the body names no other object, and its only argument is text.
create or replace function logdrain_endpoint_url_ok(p_url text) returns boolean
language sql immutable parallel safe as $$
    select p_url operator(pg_catalog.~*) '^https://([^/?#@]*@)?(\[[0-9a-f:.]+\]|[^/?#:@\[\]]+)(:[0-9]{1,5})?([/?#].*)?$'
           and p_url operator(pg_catalog.!~) '[[:space:][:cntrl:]]'
$$;
alter function logdrain_endpoint_url_ok(text) reset search_path;
