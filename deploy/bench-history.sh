#!/usr/bin/env bash
# Benchmark (DESIGN §4 "history"): an account with ROWS retained lines older than 30 s
# (default 10,000,000) gets a new drain, beside an account with no history. Prints how long the
# one pass over the history took, PostgreSQL CPU over 10 idle seconds with only the history
# drain enabled against only the empty one (target: within 2x), and the first new line's
# commit-to-receipt latency (target: <= 2 s).
#   Reproduce: deploy/bench-history.sh [ROWS]
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
ROWS="${1:-10000000}"
bench_setup
start_receiver --measure-latency
URL="$RECEIVER/discard/history"
phase "accounts 'history' ($ROWS rows, two days old) and 'empty'"
sql -v url="$URL" -v secret="$(cat "$BENCH_TMP/secret")" >/dev/null <<'SQL'
select account_create('history'), member_add('history', 'admin@history.example', 'admin');
select account_create('empty'), member_add('empty', 'admin@empty.example', 'admin');
SQL
HIST_ID=$(sql -c "select id from accounts where name = 'history'")
t0=$(now)
done_rows=0
while ((done_rows < ROWS)); do
  chunk=$(( ROWS - done_rows < 1000000 ? ROWS - done_rows : 1000000 ))
  sql -c "insert into logs (account_id, ts, message, level, fal_app_name)
          select $HIST_ID, now() - interval '2 days', 'old line ' || g, 'info', 'bench'
          from generate_series(1, $chunk) g" >/dev/null
  done_rows=$((done_rows + chunk))
  echo "[bench] inserted $done_rows rows"
done
echo "[bench] history written in $(python3 -c "print(round($(now) - $t0, 1))") s"
# Two-day-old rows land in the default partition; the upkeep moves them into their day's
# partition. Run it now, and vacuum after it, so neither the move nor autovacuum falls into
# the measured windows (in production the rows are in their partition long before).
"$BIN/drain-admin" maintain >/dev/null
sql -c "vacuum analyze logs" >/dev/null
phase "new drains on both accounts, one worker"
sql -v url="$URL" -v secret="$(cat "$BENCH_TMP/secret")" >/dev/null <<'SQL'
select drain_create('history', 'admin@history.example', 'history drain', :'url', :'secret');
select drain_create('empty', 'admin@empty.example', 'empty drain', :'url', :'secret');
SQL
HIST_DRAIN=$(sql -c "select d.id from drains d join accounts a on a.id = d.account_id where a.name = 'history'")
EMPTY_DRAIN=$(sql -c "select d.id from drains d join accounts a on a.id = d.account_id where a.name = 'empty'")
c0=$(pg_cpu_seconds); t0=$(now)
start_worker history-1
for _ in $(seq 6000); do
  [[ "$(sql -c "select start_snapshot is null from drains where id = '$HIST_DRAIN'")" == t ]] && break
  sleep 0.1
done
t1=$(now); c1=$(pg_cpu_seconds)
echo "[bench] the one pass over $ROWS history rows: $(python3 -c "print(round($t1 - $t0, 1))") s wall, $(python3 -c "print(round($c1 - $c0, 1))") s PostgreSQL CPU"
idle_window() {  # $1: drain to keep enabled, $2: drain to disable
  sql -c "select drain_disable('$2', (select u.email from users u join memberships m on m.user_id = u.id join drains d on d.account_id = m.account_id where d.id = '$2'))" >/dev/null
  sql -c "select drain_enable('$1', (select u.email from users u join memberships m on m.user_id = u.id join drains d on d.account_id = m.account_id where d.id = '$1'))" >/dev/null
  sleep 2
  local a b; a=$(pg_cpu_seconds); sleep 10; b=$(pg_cpu_seconds)
  python3 -c "print(round($b - $a, 3))"
}
cpu_empty=$(idle_window "$EMPTY_DRAIN" "$HIST_DRAIN")
cpu_hist=$(idle_window "$HIST_DRAIN" "$EMPTY_DRAIN")
ratio=$(python3 -c "print(round($cpu_hist / max($cpu_empty, 0.001), 2))")
echo "[bench] PostgreSQL CPU over 10 idle s: history drain alone $cpu_hist s, empty drain alone $cpu_empty s, ratio $ratio (target <= 2)"
curl -sS --cacert "$BENCH_TMP/certs/ca.pem" "$RECEIVER/_stats/reset" >/dev/null
sql -c "insert into logs (account_id, ts, message, level) values ($HIST_ID, clock_timestamp(), 'first new line', 'info')" >/dev/null
sleep 3
stats=$(curl -sS --cacert "$BENCH_TMP/certs/ca.pem" "$RECEIVER/_stats")
python3 - "$stats" "$ratio" "$ROWS" <<'PY'
import json, sys
s = json.loads(sys.argv[1])
print(f"[bench] first new line after the history: received {s.get('lines')} line(s), "
      f"commit-to-receipt {s.get('latency_max', float('nan')):.3f} s (target <= 2 s)")
print(f"RESULT history | idle cost {sys.argv[2]}x, first line {s.get('latency_max', float('nan')):.2f} s | <= 2x, <= 2 s | "
      f"{int(sys.argv[3]):,} old rows against an account with none")
PY
