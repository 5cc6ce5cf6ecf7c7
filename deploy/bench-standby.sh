#!/usr/bin/env bash
# Benchmark (DESIGN §4 "read replica"): the firehose with log rows read from a streaming hot
# standby (`drain-worker --read-database-url`). Two accounts get the same N-line backlog; the
# first is delivered by a worker reading from the primary, the second by one reading from a
# standby made with pg_basebackup -R beside it. For each run it prints the primary's CPU seconds
# (its postmaster and every backend, from /proc) per delivered line, and the ratio.
#   Reproduce: deploy/bench-standby.sh [N]       (default 300000; target: ratio <= 25%)
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
N="${1:-300000}"
bench_setup
start_receiver
generate_lines "$N" "$BENCH_TMP/lines.ndjson"
for a in primary standby; do
  "$BIN/drain-admin" account create "replica-$a" >/dev/null
  "$BIN/drain-admin" member add "replica-$a" bench@example.com --role admin >/dev/null
  "$BIN/drain-admin" create "replica-$a" --as bench@example.com --name "$a reads" --url "$RECEIVER/discard/$a" \
    --secret-file "$BENCH_TMP/secret" --sampling-rate 5000 --skip-test --disabled --allow-private-endpoints >/dev/null
  "$BIN/drain-admin" ingest "replica-$a" "$BENCH_TMP/lines.ndjson" >/dev/null
done
sql -c "vacuum analyze logs" >/dev/null

phase "streaming hot standby (deploy/pg.sh standby)"
deploy/pg.sh standby "$BENCH_TMP/standby" "$DATABASE_URL" >/dev/null
STANDBY_URL="$(cat "$BENCH_TMP/standby/url")"
lsn="$(sql -c 'select pg_current_wal_lsn()')"
until [[ "$(psql -qtAX "$STANDBY_URL" -c "select pg_last_wal_replay_lsn() >= '$lsn'")" == t ]]; do sleep 0.2; done

run() { # run ACCOUNT [worker args...]: prints "start end primary_cpu_start primary_cpu_end"
  local account="$1"; shift
  local id; id="$(sql -c "select d.id from drains d join accounts a on a.id = d.account_id where a.name = '$account'")"
  "$BIN/drain-admin" enable "$id" --as bench@example.com >/dev/null
  local cpu0 t0 t1 cpu1
  cpu0="$(pg_cpu_seconds)"; t0="$(now)"
  "$BIN/drain-worker" --name "bench-$account" --allow-private-endpoints --ca-file "$BENCH_TMP/certs/ca.pem" "$@" \
    2>"$BENCH_TMP/$account.log" &
  local pid=$!
  until [[ "$(sql -c "select delivered_lines >= $N from drains where id = '$id'")" == t ]]; do sleep 0.05; done
  t1="$(now)"; cpu1="$(pg_cpu_seconds)"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  "$BIN/drain-admin" disable "$id" --as bench@example.com >/dev/null
  echo "$t0 $t1 $cpu0 $cpu1"
}

phase "worker reading from the primary"
primary_run="$(run replica-primary)"
phase "worker reading from the standby (--read-database-url)"
standby_run="$(run replica-standby --read-database-url "$STANDBY_URL")"

python3 - "$N" $primary_run $standby_run <<'PY'
import sys
n = int(sys.argv[1]); a0, a1, ac0, ac1, b0, b1, bc0, bc1 = map(float, sys.argv[2:])
tp, cp, ts, cs = a1 - a0, ac1 - ac0, b1 - b0, bc1 - bc0
print(f"[bench] reads on the primary: {n} lines in {tp:.2f} s ({n / tp:,.0f} lines/s), primary CPU {cp:.2f} s = {cp / n * 1e6:.2f} us/line")
print(f"[bench] reads on the standby: {n} lines in {ts:.2f} s ({n / ts:,.0f} lines/s), primary CPU {cs:.2f} s = {cs / n * 1e6:.2f} us/line")
print(f"[bench] primary CPU per line with the standby: {cs / cp:.0%} of the single-server run (target <= 25%)")
print(f"RESULT read replica | primary CPU per line {cs / cp:.0%} of the single-server run | <= 25% | "
      f"{cp / n * 1e6:.2f} -> {cs / n * 1e6:.2f} us/line, {n} lines")
PY
