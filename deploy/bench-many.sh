#!/usr/bin/env bash
# Benchmark (DESIGN §4 "many drains"): D enabled drains (default 1000, one per account), each
# fed L lines/s (default 20; L < 10 in turns) by a producer committing every 100 ms with ts = clock_timestamp(),
# W workers (default 2, concurrency $CONCURRENCY or 64) at the default 1 s interval, an nginx HTTPS sink that
# logs each body and its receipt time; ingest-to-receipt latency per line is computed from that log after the run. Prints p50/p99/max latency and claim cost.
# EXTRA_DISABLED=99000 adds that many disabled drains (DESIGN §4 "idle scale": claim cost with
# 100,000 drains of which 1,000 enabled, against the same run without them).
#   Reproduce: deploy/bench-many.sh [DRAINS] [LINES_PER_S] [SECONDS] [WORKERS]
#              EXTRA_DISABLED=99000 deploy/bench-many.sh
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
D="${1:-1000}"; L="${2:-20}"; SECS="${3:-30}"; W="${4:-2}"
bench_setup
deploy/certs.sh "$BENCH_TMP/certs" >/dev/null
openssl rand -hex 40 >"$BENCH_TMP/secret"
start_nginx_sink latency
URL="$SINK_URL/discard/many"
phase "$D accounts, admins and drains (through the SQL functions)"
psql -q "$DATABASE_URL" -v url="$URL" -v secret="$(cat "$BENCH_TMP/secret")" -v n="$D" <<'SQL'
select count(*) from (
  select account_create('many-' || i), member_add('many-' || i, 'admin@many-' || i || '.example', 'admin'),
         drain_create('many-' || i, 'admin@many-' || i || '.example', 'drain ' || i, :'url', :'secret')
  from generate_series(1, :n) as i) s;
SQL
EXTRA="${EXTRA_DISABLED:-0}"
if ((EXTRA > 0)); then
  phase "$EXTRA more accounts with a disabled drain each"
  psql -q "$DATABASE_URL" -v url="$URL" -v secret="$(cat "$BENCH_TMP/secret")" -v n="$EXTRA" <<'SQL'
insert into accounts (name) select 'idle-' || i from generate_series(1, :n) i;
insert into drains (account_id, name, url, secret, enabled, disabled_reason)
select id, 'idle', :'url', :'secret', false, 'manual' from accounts where name like 'idle-%';
analyze drains;
SQL
fi
phase "$W workers (concurrency ${CONCURRENCY:-64}), producer at $L lines/s per drain for ${SECS}s"
for w in $(seq "$W"); do
  "$BIN/drain-worker" --name "many-$w" --concurrency "${CONCURRENCY:-64}" --allow-private-endpoints \
    --ca-file "$BENCH_TMP/certs/ca.pem" 2>"$BENCH_TMP/worker-$w.log" &
  BENCH_PIDS+=($!)
done
sleep 3
since=$(now)  # requests before this (the workers' first claims) are not counted
# CPU seconds (user+sys) of the sink, the workers and PostgreSQL over the producer's run: on 2
# cores they share, so this says which one was short of CPU.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$1/stat"; }
cpu_of_all() { local out="sink $(tree_cpu_seconds "${BENCH_PIDS[0]}")"; for p in "${BENCH_PIDS[@]:1}"; do out+=" worker $(cpu "$p")"; done; echo "$out pg $(pg_cpu_seconds)"; }
cpu_before=$(cpu_of_all)
# Every 100 ms tick: L/10 lines per drain when L >= 10; below that each drain gets one line
# every 10/L ticks (drains take turns), so the offered load is exactly D x L lines/s.
if ((L >= 10)); then per_tick=$(( L / 10 )); every=1; else per_tick=1; every=$(( 10 / L )); fi
psql -q "$DATABASE_URL" -c "select pg_stat_statements_reset()" >/dev/null 2>&1 || true
psql -q "$DATABASE_URL" <<SQL
do \$\$
begin
  for tick in 1..($SECS * 10) loop
    insert into logs (account_id, ts, message, level, fal_app_name)
    select a.id, clock_timestamp(), 'tick ' || tick || ' line ' || k, 'info', 'bench'
    from accounts a, generate_series(1, $per_tick) k where a.name like 'many-%' and a.id % $every = tick % $every;
    commit;
    perform pg_sleep(0.1);
  end loop;
end \$\$;
SQL
echo "[bench] CPU seconds before the run: $cpu_before; after it: $(cpu_of_all)"
sleep 3
# Claim cost: the worker's claim (64 drains), the function `migrate` created, timed inside a
# rolled-back transaction so it changes nothing.
claim_ms="select * from logdrain_worker_claim(64, 'probe', 0.001, '{}'::uuid[])"
total=0
for i in $(seq 20); do
  ms=$(printf 'begin;\nexplain (analyze, format json) %s;\nrollback;\n' "$claim_ms" | psql -qtA "$DATABASE_URL" |
       python3 -c 'import json,sys; t=sys.stdin.read(); print(json.loads(t[t.index("["):t.rindex("]")+1])[0]["Execution Time"])')
  total=$(python3 -c "print($total + $ms)")
done
in_table=$(psql -qtA "$DATABASE_URL" -c 'select count(*) from drains')
claim_avg=$(python3 -c "print(round($total / 20, 3))")
echo "[bench] claim statement (64 drains, $in_table drains in the table): $claim_avg ms average over 20"
echo "CLAIM_MS $claim_avg $in_table"
sleep 1  # nginx flushes its log buffer every second
stats=$(sink_latency "$since")
expected=$(( D * per_tick * SECS * 10 / every ))
python3 - "$stats" "$expected" "$D" "$L" "$W" <<'PY'
import json, sys
s = json.loads(sys.argv[1]); expected = int(sys.argv[2]); drains = int(sys.argv[3])
# DESIGN §4: "many drains" (1,000 x 20 lines/s, p99 <= 1.5 s), "wide" (10,000 x 1 line/s, p99 <= 2 s).
row, target = ("wide", 2.0) if drains >= 10000 else ("many drains", 1.5)
print(f"[bench] {sys.argv[3]} drains x {sys.argv[4]} lines/s, {sys.argv[5]} workers: received {s.get('lines')} of {expected} lines "
      f"in {s.get('requests')} requests on {s.get('connections')} connections")
if "latency_p99" in s:
    print(f"[bench] ingest-to-receipt latency: p50 {s['latency_p50']:.3f} s, p99 {s['latency_p99']:.3f} s, "
          f"max {s['latency_max']:.3f} s (target p99 <= {target} s)")
    print(f"[bench] p99 by 5 s of the run: {s.get('p99_by_5s')}")
    print(f"RESULT {row} | p99 {s['latency_p99']:.2f} s, p50 {s['latency_p50']:.2f} s | <= {target} s | "
          f"{s.get('lines')} of {expected} lines received, {sys.argv[5]} workers")
PY
