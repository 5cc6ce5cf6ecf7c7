-- The same rules in SQL as in drain-admin (DrainCore/Validation.swift, Redaction.swift), for
-- psql users: URL length and port range, control characters in secrets, and redaction of bare
-- query items and path parameters.

create or replace function logdrain_check_drain_fields(p_name text, p_url text, p_secret text, p_sampling_rate integer)
returns void language plpgsql immutable as $$
declare
    v_port text;
begin
    if p_name is not null and (char_length(p_name) not between 1 and 100 or p_name ~ '[[:cntrl:]]') then
        raise exception 'name: must be 1-100 characters (got %)', char_length(p_name) using errcode = '22023';
    end if;
    if p_url is not null then
        if p_url !~* '^https://([^/?#@]*@)?(\[[0-9a-f:.]+\]|[^/?#:@\[\]]+)(:[0-9]{1,5})?([/?#].*)?$'
           or p_url ~ '[[:space:][:cntrl:]]' then
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
    if p_sampling_rate is not null and p_sampling_rate not between 1 and 5000 then
        raise exception 'sampling-rate: must be between 1 and 5000 (got %)', p_sampling_rate using errcode = '22023';
    end if;
end $$;

-- scheme://host[:port]/path; userinfo, query values, bare query items and path-parameter
-- values as ***; path segments of 16+ characters containing a digit as ***.
create or replace function logdrain_redact_url(url text) returns text
language plpgsql immutable as $$
declare
    m text[];
    path text;
    query text;
    seg text;
    params text[];
    p text;
    i integer;
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
            if char_length(seg) >= 16 and seg ~ '[0-9]' then
                seg := '***';
            elsif position(';' in seg) > 0 then
                params := string_to_array(seg, ';');
                for i in 2 .. array_length(params, 1) loop
                    p := params[i];
                    params[i] := case when position('=' in p) > 0 then split_part(p, '=', 1) || '=***'
                                      when p = '' then '' else '***' end;
                end loop;
                seg := array_to_string(params, ';');
            end if;
            out_path := out_path || seg;
        end loop;
    end if;
    if m[6] is not null then
        foreach pair in array string_to_array(query, '&') loop
            out_query := out_query || case when position('=' in pair) > 0 then split_part(pair, '=', 1) || '=***'
                                           when pair = '' then '' else '***' end;
        end loop;
    end if;
    return m[1] || '://' || case when m[2] is not null then '***@' else '' end || m[4]
        || coalesce(array_to_string(out_path, '/'), '')
        || case when m[6] is not null then '?' || array_to_string(out_query, '&') else '' end;
end $$;
