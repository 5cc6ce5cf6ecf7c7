#!/usr/bin/env bash
# Benchmark (DESIGN §4 "database stall"): N drains (default 100, one per account) whose
# endpoint answers after 3 s; once all N requests are on the wire, another session holds
# `LOCK TABLE drains IN ACCESS EXCLUSIVE MODE` for 12 s. Target: 0 failures counted, 0 lines
# resent (the HTTP loop never waits on PostgreSQL; outcomes wait for the database).
#   Reproduce: deploy/bench-stall.sh [DRAINS] [LOCK_SECONDS]
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
N="${1:-100}"; LOCK="${2:-12}"
bench_setup
start_receiver
phase "$N accounts and drains answering in 3 s; 10 lines each"
sql -v url="$RECEIVER/sleep/3/stall" -v secret="$(cat "$BENCH_TMP/secret")" -v n="$N" >/dev/null <<'SQL'
select count(*) from (
  select account_create('stall-' || i), member_add('stall-' || i, 'admin@stall-' || i || '.example', 'admin'),
         drain_create('stall-' || i, 'admin@stall-' || i || '.example', 'drain ' || i, :'url' || '/' || i, :'secret')
  from generate_series(1, :n) as i) s;
insert into logs (account_id, ts, message, level)
select a.id, clock_timestamp(), 'stall line ' || k, 'info' from accounts a, generate_series(1, 10) k;
SQL
start_worker stall-1 --concurrency $((N + 28))
phase "waiting for $N requests on the wire"
for _ in $(seq 200); do
  inflight=$(curl -sS --cacert "$BENCH_TMP/certs/ca.pem" "$RECEIVER/_stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
  ((inflight >= N)) && break
  sleep 0.1
done
echo "[bench] $inflight requests on the wire"
phase "LOCK TABLE drains for ${LOCK}s"
t0=$(now)
sql -c "begin; lock table drains in access exclusive mode; select pg_sleep($LOCK); commit;" >/dev/null
t1=$(now)
for _ in $(seq 300); do
  pending=$(sql -c "select count(*) from drains where batch_attempts > 0")
  ((pending == 0)) && break
  sleep 0.1
done
t2=$(now)
failures=$(sql -c "select coalesce(sum(consecutive_failures), 0) from drains")
errors=$(sql -c "select count(*) from delivery_attempts where error is not null")
stats=$(curl -sS --cacert "$BENCH_TMP/certs/ca.pem" "$RECEIVER/_stats")
python3 - "$stats" "$N" "$t0" "$t1" "$t2" "$failures" "$errors" "$pending" <<'PY'
import json, sys
s = json.loads(sys.argv[1]); n = int(sys.argv[2]); t0, t1, t2 = map(float, sys.argv[3:6])
failures, errors, pending = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
resent_lines = s["lines"] - n * 10
print(f"[bench] database stall: lock held {t1 - t0:.1f} s while {n} deliveries were in flight; "
      f"all outcomes recorded {t2 - t1:.2f} s after it ended ({pending} still pending)")
print(f"[bench] failures counted: {failures} ({errors} failed attempts in history); requests {s['requests']} for {n} batches; "
      f"lines resent: {resent_lines} (target: 0 failures, 0 resent)")
print(f"RESULT database stall | {failures} failures, {resent_lines} lines resent | 0 and 0 | "
      f"lock {t1 - t0:.1f} s over {n} deliveries in flight")
PY
