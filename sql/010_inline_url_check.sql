-- The endpoint URL rule as a function PostgreSQL can inline (issue 10), and literals that mean
-- the same in every session.
--
-- PostgreSQL checks every CHECK constraint of `drains` on every UPDATE of a row, whichever
-- columns change, and the worker updates a drain row three times a visit. With `SET
-- search_path` (pinned in 009) the rule could not be inlined: each row paid a SQL function call
-- and a search_path switch, a quarter of a 64-row update. Its operators are now
-- schema-qualified, so it needs no pinned search_path: the body names no other object.
--
-- An inlined body is parsed in the caller's session, so its regular expression is written
-- without backslashes (`[[]` and `[]]` for the brackets): with `standard_conforming_strings`
-- off, a backslash in a literal would change the rule, and a row saved that way would fail the
-- CHECK on every later UPDATE, the workers' claims included.
create or replace function logdrain_endpoint_url_ok(p_url text) returns boolean
language sql immutable parallel safe as $$
    select p_url operator(pg_catalog.~*) '^https://([^/?#@]*@)?([[][0-9a-f:.]+[]]|[^]/?#:@[]+)(:[0-9]{1,5})?([/?#].*)?$'
           and p_url operator(pg_catalog.!~) '[[:space:][:cntrl:]]'
$$;
alter function logdrain_endpoint_url_ok(text) reset search_path;

-- The other functions with a pinned search_path (the SECURITY DEFINER admin functions and their
-- helpers) run with standard_conforming_strings on as well, whatever the caller set: their
-- bodies hold backslashes (the port, the e-mail and the redaction patterns). A later migration
-- that re-creates one of them must pin both settings again, as 009 did for search_path.
do $$
declare
    f regprocedure;
begin
    for f in select p.oid::regprocedure from pg_proc p
             where p.pronamespace = current_schema()::regnamespace
               and exists (select 1 from unnest(p.proconfig) c where c like 'search_path=%')
               and p.proname not like 'logdrain_worker_%'
    loop
        execute format('alter function %s set standard_conforming_strings = on', f);
    end loop;
end $$;
