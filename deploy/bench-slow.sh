#!/usr/bin/env bash
# Benchmark (DESIGN §4 "slow endpoints"): D drains (default 100) with a backlog each, one
# worker at the default concurrency. Run 1: every endpoint fast. Run 2: 10% of the endpoints
# answer after 9 s. Prints the lines/s at which the other 90% delivered their whole backlog in
# each run (from the drains' delivered_lines, worker start to last line) and the ratio
# (target >= 0.90).
#   Reproduce: deploy/bench-slow.sh [DRAINS] [BACKLOG_PER_DRAIN]
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
# 50,000 lines each: at about 200,000 lines/s all fast, a run must last well past the slow
# endpoints' 9 s, or the ratio measures the worker's start more than the slow answers.
D="${1:-100}"; BACKLOG="${2:-50000}"
SLOW=$(( D / 10 ))
bench_setup
start_receiver; FAST_URL="$RECEIVER/discard/fast"
start_receiver; SLOW_URL="$RECEIVER/sleep/9/slow"

# run PREFIX SLOW_COUNT: D drains named PREFIX-i; the first SLOW_COUNT point at the slow sink.
run() {
  local prefix="$1" slow="$2"
  phase "run '$prefix': $D drains, $slow of them slow, $BACKLOG lines of backlog each" >&2
  sql -v fast="$FAST_URL" -v slowurl="$SLOW_URL" -v secret="$(cat "$BENCH_TMP/secret")" -v n="$D" -v s="$slow" -v p="$prefix" >/dev/null <<'SQL'
select count(*) from (
  select account_create(:'p' || '-' || i), member_add(:'p' || '-' || i, 'admin@' || :'p' || i || '.example', 'admin'),
         drain_create(:'p' || '-' || i, 'admin@' || :'p' || i || '.example', 'drain ' || i,
                      case when i <= :s then :'slowurl' || '/' || i else :'fast' end, :'secret')
  from generate_series(1, :n) as i) x;
SQL
  sql -c "insert into logs (account_id, ts, message, level, fal_app_name)
          select a.id, clock_timestamp(), 'backlog line ' || k, 'info', 'bench'
          from accounts a, generate_series(1, $BACKLOG) k where a.name like '$prefix-%'" >/dev/null
  local others="a.name like '$prefix-%' and substring(a.name from '[0-9]+\$')::int > $SLOW"
  local others_total=$(( (D - SLOW) * BACKLOG ))
  # Throughput of the others: their whole backlog, from the worker's start to the last line.
  local t0 t1 done_lines=0
  t0=$(now)
  start_worker "$prefix-worker"
  local pid=$!
  for _ in $(seq 3000); do
    done_lines=$(sql -c "select coalesce(sum(delivered_lines), 0) from drains d join accounts a on a.id = d.account_id where $others")
    ((done_lines >= others_total)) && break
    sleep 0.1
  done
  t1=$(now)
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  sql -c "update drains set enabled = false, disabled_reason = 'manual' where account_id in (select id from accounts where name like '$prefix-%')" >/dev/null
  python3 -c "print(round($done_lines / ($t1 - $t0)))"
}
fast=$(run allfast 0)
echo "[bench] all fast: the $((D - SLOW)) other drains delivered $fast lines/s"
mixed=$(run mixed "$SLOW")
echo "[bench] $SLOW slow (9 s): the $((D - SLOW)) other drains delivered $mixed lines/s"
echo "[bench] slow endpoints: others keep $(python3 -c "print(round($mixed / max($fast, 1), 3))") of their all-fast throughput (target >= 0.90)"
echo "RESULT slow endpoints | others keep $(python3 -c "print(round($mixed / max($fast, 1), 2))") of their throughput | >= 0.90 | $fast lines/s all fast, $mixed with $SLOW slow"
