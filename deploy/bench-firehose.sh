#!/usr/bin/env bash
# Benchmark (DESIGN §4 "firehose"): one drain at sampling rate 5000 with an N-line backlog
# (default 1,000,000), one drain-worker, an HTTPS sink that discards. Compares the worker's
# lines/s with `psql \copy (select <producer columns> ...) to /dev/null` over the same rows.
# DRAINS=64 spreads the backlog over 64 drains (one per account) and runs the worker at
# concurrency 64: the memory scenario of DESIGN §4 (peak RSS is printed). SINK=nginx uses an
# nginx HTTPS sink (faster than the worker) instead of the Python receiver.
#   Reproduce: deploy/bench-firehose.sh [N]      DRAINS=64 deploy/bench-firehose.sh [N]
#              SINK=nginx deploy/bench-firehose.sh [N]
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
N="${1:-1000000}"
bench_setup
deploy/certs.sh "$BENCH_TMP/certs" >/dev/null
openssl rand -hex 40 >"$BENCH_TMP/secret"
python3 deploy/receiver.py --port 0 --port-file "$BENCH_TMP/port" --cert "$BENCH_TMP/certs/server.pem" \
  --key "$BENCH_TMP/certs/server.key" --secret-file "$BENCH_TMP/secret" >/dev/null 2>&1 &
BENCH_PIDS+=($!)
for _ in $(seq 100); do [[ -s "$BENCH_TMP/port" ]] && break; sleep 0.1; done
URL="https://127.0.0.1:$(cat "$BENCH_TMP/port")"
if [[ "${SINK:-}" == nginx ]]; then start_nginx_sink; URL="$SINK_URL"; fi
DRAINS="${DRAINS:-1}"
PER=$(( N / DRAINS ))
phase "backlog: $DRAINS drain(s) x $PER lines"
generate_lines "$PER" "$BENCH_TMP/lines.ndjson"
for d in $(seq "$DRAINS"); do
  "$BIN/drain-admin" account create "firehose-$d" >/dev/null
  "$BIN/drain-admin" member add "firehose-$d" bench@example.com --role admin >/dev/null
  # The drain exists before its backlog is written, so every line is due (DESIGN §2.8).
  "$BIN/drain-admin" create "firehose-$d" --as bench@example.com --name firehose --url "$URL/discard/firehose" \
    --secret-file "$BENCH_TMP/secret" --sampling-rate 5000 --skip-test --allow-private-endpoints >/dev/null
  "$BIN/drain-admin" ingest "firehose-$d" "$BENCH_TMP/lines.ndjson" >/dev/null
done
N=$(( PER * DRAINS ))
psql -q "$DATABASE_URL" -c "vacuum analyze logs" >/dev/null

phase "baseline: psql \\copy of the same rows to /dev/null (before the worker run; again after it)"
cols="account_id, ts, message, level, fal_app_name, fal_app_id, fal_request_id, fal_job_id, fal_endpoint, fal_node_id, fal_worker_id, fal_source, fal_isolate_source"
copy_seconds() {
  local a b
  a=$(now)
  psql -q "$DATABASE_URL" -c "\\copy (select $cols from logs where account_id in (select id from accounts where name like 'firehose-%')) to /dev/null"
  b=$(now)
  python3 -c "print($b - $a)"
}
copy_before=$(copy_seconds)

phase "one drain-worker delivering the backlog"
t2=$(now)
MPORT="$(free_port)"
"$BIN/drain-worker" --name firehose --concurrency $(( DRAINS > 32 ? DRAINS : 32 )) --allow-private-endpoints --ca-file "$BENCH_TMP/certs/ca.pem" \
  --metrics-address "127.0.0.1:$MPORT" 2>"$BENCH_TMP/worker.log" &
BENCH_PIDS+=($!)
# One session polls inside the server (a psql per poll would take CPU from the worker on 2 cores).
psql -q "$DATABASE_URL" -c "do \$\$ begin
  while coalesce((select sum(delivered_lines) from drains), 0) < $N loop perform pg_sleep(0.02); end loop;
end \$\$"
t3=$(now)
rss=$(awk '/VmHWM/ {print $2}' "/proc/${BENCH_PIDS[-1]}/status")  # peak RSS, KiB
# CPU seconds used (user+sys) by the worker and the Python sink: on 2 cores they compete with
# PostgreSQL, so this says where the time went.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$1/stat"; }
echo "[bench] CPU seconds: worker $(cpu "${BENCH_PIDS[-1]}"), sink $(cpu "${BENCH_PIDS[-2]}")"
# The last 20 attempts of each drain (the history ring): time on the wire per batch, as the
# worker measured it (request sent to response received).
echo "[bench] last attempts: $(psql -qtA "$DATABASE_URL" -c "select count(*) || ' batches, avg ' || round(avg(lines)) || ' lines, ' || round(avg(bytes) / 1048576.0, 2) || ' MiB, ' || round(avg(duration_ms), 1) || ' ms on the wire' from delivery_attempts")"
# Stage timings, from the worker's own histograms (sum / count of each): where a batch's time goes.
curl -sS "http://127.0.0.1:$MPORT/metrics" | python3 -c '
import re, sys
text = sys.stdin.read()
def stat(name):
    s = re.search(r"^%s_sum\{[^}]*\} ([0-9.e+-]+)$" % name, text, re.M)
    c = re.search(r"^%s_count\{[^}]*\} ([0-9.e+-]+)$" % name, text, re.M)
    return (float(s.group(1)), int(float(c.group(1)))) if s and c else (0.0, 0)
stages = [("claim", "logdrain_claim_duration_seconds"), ("read (at a claim)", "logdrain_read_duration_seconds"),
          ("read ahead + encode", "logdrain_read_ahead_duration_seconds"), ("sign", "logdrain_sign_duration_seconds"),
          ("on the wire", "logdrain_delivery_duration_seconds"), ("record", "logdrain_record_duration_seconds")]
parts = []
for label, name in stages:
    total, count = stat(name)
    parts.append(f"{label} {1000 * total / count:.2f} ms x {count}" if count else f"{label} -")
print("[bench] stages (average per statement or batch, x how many): " + "; ".join(parts))
' || echo "[bench] stages: the worker's metrics did not answer"
copy_after=$(copy_seconds)
# The faster of the two \copy runs is the reference: the ratio is never flattered by a cold cache.
t0=0; t1=$(python3 -c "print(min($copy_before, $copy_after))")
stats=$(curl -sS --cacert "$BENCH_TMP/certs/ca.pem" "$URL/_stats" 2>/dev/null || echo '{"lines": "(nginx: not counted)"}')
[[ "$stats" == "ok" ]] && stats='{"lines": "(nginx: not counted)"}' 
python3 - "$N" "$t0" "$t1" "$t2" "$t3" "$rss" "$stats" "$DRAINS" <<'PY'
import sys, json
n = int(sys.argv[1]); t0, t1, t2, t3 = map(float, sys.argv[2:6]); rss = int(sys.argv[6]); stats = json.loads(sys.argv[7])
drains = int(sys.argv[8])
copy_rate, worker_rate = n / (t1 - t0), n / (t3 - t2)
print(f"[bench] psql \\copy baseline: {n} rows in {t1 - t0:.2f} s = {copy_rate:,.0f} rows/s")
print(f"[bench] drain-worker:        {n} lines in {t3 - t2:.2f} s = {worker_rate:,.0f} lines/s "
      f"({worker_rate / copy_rate:.0%} of the baseline; target >= 80%)")
print(f"[bench] sink received {stats.get('lines', stats)} lines; worker peak RSS {rss / 1024:.0f} MB")
# One line per DESIGN §4 row, for deploy/bench.sh: RESULT row | figure | target | reference.
if drains == 1:
    print(f"RESULT firehose | {worker_rate / copy_rate:.2f} of \\copy ({worker_rate:,.0f} lines/s) | >= 0.80 | "
          f"\\copy {copy_rate:,.0f} rows/s, same rows, same run")
else:
    print(f"RESULT memory | peak RSS {rss / 1024:.0f} MB ({drains} drains, concurrency {max(drains, 32)}, 5000-line batches) | "
          f"<= 100 MB | {n} lines at {worker_rate:,.0f} lines/s")
PY
