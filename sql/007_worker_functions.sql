-- The worker's writes to drains go through SECURITY DEFINER functions that `migrate` creates
-- from the statements in Sources/DrainStore/SQL.swift (logdrain_worker_*); the worker role
-- keeps no direct UPDATE on drains (DESIGN §5), nor direct writes to the history and audit.
revoke update on drains from logdrain_worker;
revoke insert, update on delivery_attempts from logdrain_worker;
revoke insert on audit_events from logdrain_worker;
