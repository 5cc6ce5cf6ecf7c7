-- Secrets at rest (DESIGN §5): drain-admin and the workers encrypt and decrypt drain secrets
-- with keys PostgreSQL never sees; `drains.secret` holds `ldenc:v1:KEY_ID:...` (or, without a
-- keys file, the secret as given). `drain-admin rotate-secrets` re-encrypts each secret under
-- the current key through this function: a compare-and-swap, so a secret changed meanwhile by
-- an admin is left alone, and no configuration change is counted (the secret is the same).
create function logdrain_replace_secret(p_drain uuid, p_old text, p_new text) returns boolean
language plpgsql as $$
declare
    v drains;
begin
    update drains set secret = p_new where id = p_drain and secret = p_old returning * into v;
    if not found then return false; end if;
    perform logdrain_audit(v.account_id, p_drain, 'operator', 'drain.secret-reencrypt',
                           null, jsonb_build_object('secret', '*** (re-encrypted)'));
    return true;
end $$;
