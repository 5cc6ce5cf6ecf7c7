# Shared setup for the benchmark scripts: a release build, a private PostgreSQL (default
# durability settings: fsync on, as in production) in a temp dir, and cleanup on exit.
# Sourced, not run.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then export PATH="/opt/swift/usr/bin:$PATH"; fi

phase() { printf '\n==> [bench] %s\n' "$*"; }
BENCH_PIDS=()
BENCH_TMP=""
bench_cleanup() {
  set +e
  for pid in "${BENCH_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  [[ -n "$BENCH_TMP" && -d "$BENCH_TMP/standby" ]] && "$REPO_ROOT/deploy/pg.sh" stop "$BENCH_TMP/standby" >/dev/null 2>&1
  [[ -n "$BENCH_TMP" && -d "$BENCH_TMP/pg" ]] && "$REPO_ROOT/deploy/pg.sh" stop "$BENCH_TMP/pg" >/dev/null 2>&1
  [[ -n "$BENCH_TMP" ]] && rm -rf -- "$BENCH_TMP"
}
trap bench_cleanup EXIT

bench_setup() {
  deploy/install-deps.sh >/dev/null
  phase "swift build -c release"
  swift build -c release 2>&1 | tail -1
  BIN="$(swift build -c release --show-bin-path)"
  BENCH_TMP="$(mktemp -d /tmp/logdrain-bench.XXXXXX)"
  chmod 755 "$BENCH_TMP"
  phase "private PostgreSQL in $BENCH_TMP/pg"
  deploy/pg.sh start "$BENCH_TMP/pg" >/dev/null
  export DATABASE_URL="$(cat "$BENCH_TMP/pg/url")"
  "$BIN/drain-admin" migrate
}

# Writes N NDJSON lines (realistic fal fields, ~230 bytes each) to FILE.
generate_lines() {
  python3 - "$1" "$2" <<'PY'
import sys, datetime
n, path = int(sys.argv[1]), sys.argv[2]
start = datetime.datetime.now(datetime.timezone.utc)
with open(path, "w") as f:
    for i in range(n):
        ts = (start + datetime.timedelta(microseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        f.write('{"timestamp": "%s", "message": "request %d handled in 12ms \\"ok\\"", "level": "info", '
                '"fal_app_name": "my-model", "fal_app_id": "abc123", "fal_request_id": "req-%d", '
                '"fal_job_id": "job-789", "fal_endpoint": "/", "fal_node_id": "node-1", "fal_worker_id": "worker-42"}\n' % (ts, i, i))
PY
}

now() { date +%s.%N; }

# A TCP port free on 127.0.0.1 right now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Starts deploy/receiver.py (extra flags: "$@") on a free port; sets RECEIVER (its https URL).
# The certificates (BENCH_TMP/certs) and the secret (BENCH_TMP/secret) are made on first use.
start_receiver() {
  [[ -d "$BENCH_TMP/certs" ]] || deploy/certs.sh "$BENCH_TMP/certs" >/dev/null
  [[ -s "$BENCH_TMP/secret" ]] || openssl rand -hex 40 >"$BENCH_TMP/secret"
  local portfile="$BENCH_TMP/port.$RANDOM"
  python3 deploy/receiver.py --port 0 --port-file "$portfile" --cert "$BENCH_TMP/certs/server.pem" \
    --key "$BENCH_TMP/certs/server.key" --secret-file "$BENCH_TMP/secret" "$@" >/dev/null 2>&1 &
  BENCH_PIDS+=($!)
  for _ in $(seq 100); do [[ -s "$portfile" ]] && break; sleep 0.1; done
  RECEIVER="https://127.0.0.1:$(cat "$portfile")"
}

# An nginx HTTPS sink that reads and discards every body and answers 200: faster than the
# worker, so a benchmark measures the worker (and PostgreSQL), not the sink. Sets SINK_URL.
# With the argument "latency" it also logs each request's receipt time ($msec) and body, one
# JSON object a line, to BENCH_TMP/nginx/bodies.log, which `sink_latency` reads after the
# run: the latency rows then cost the sink a C server's work per request, not Python's (the
# Python receiver used most of a core at 2,000 requests/s). nginx keeps a body (for the log)
# only when something reads it: here a second server on another loopback port that answers 200.
# Needs nginx (apt-get install nginx-light); prints the exact install line otherwise.
start_nginx_sink() {
  local mode="${1:-discard}"
  command -v nginx >/dev/null || { echo "[bench] nginx is missing: apt-get install -y nginx-light" >&2; exit 1; }
  [[ -d "$BENCH_TMP/certs" ]] || deploy/certs.sh "$BENCH_TMP/certs" >/dev/null
  local dir="$BENCH_TMP/nginx" port answer
  mkdir -p "$dir"
  port="$(free_port)"
  answer="$(free_port)"
  cat >"$dir/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 8192; }
worker_rlimit_nofile 20000;
http {
  access_log off;
  client_body_temp_path $dir/body;
  client_max_body_size 64m;
  client_body_buffer_size 8m;
  keepalive_requests 1000000;
  log_format bodies escape=json '{"t": \$msec, "c": \$connection, "b": "\$request_body"}';
  server {
    listen 127.0.0.1:$port ssl;
    ssl_certificate $BENCH_TMP/certs/server.pem;
    ssl_certificate_key $BENCH_TMP/certs/server.key;
    $(if [[ "$mode" == latency ]]; then
        echo "location / { proxy_pass http://answer; proxy_http_version 1.1; proxy_set_header Connection \"\"; access_log $dir/bodies.log bodies buffer=1m flush=1s; }"
      else
        echo 'location / { return 200 "ok\n"; }'
      fi)
  }
  upstream answer { server 127.0.0.1:$answer; keepalive 64; }
  server {
    listen 127.0.0.1:$answer;
    access_log off;
    location / { return 200 "ok\n"; }
  }
}
NGINX
  nginx -c "$dir/nginx.conf" -p "$dir" 2>"$dir/stderr" &
  BENCH_PIDS+=($!)
  for _ in $(seq 50); do curl -sk "https://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.1; done
  SINK_URL="https://127.0.0.1:$port"
}

# Reads the latency sink's log (start_nginx_sink latency) after a run (nginx flushes it
# within a second) and prints one JSON
# object: requests, lines, TLS connections they came on, and each line's ingest-to-receipt latency (receipt time minus the
# line's own timestamp) as p50/p99/max, like deploy/receiver.py --measure-latency.
# With SINCE (epoch seconds), only requests received from then on count.
sink_latency() {
  python3 - "$BENCH_TMP/nginx/bodies.log" "${1:-0}" <<'PY'
import datetime, json, sys
since = float(sys.argv[2])
requests = lines = 0
lat = []
windows = {}  # latencies by 5 s of receipt time: does the tail come from one moment or all along?
connections = set()
for entry in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(entry)
    if e["t"] < since:
        continue
    requests += 1
    connections.add(e["c"])
    for line in e["b"].splitlines():
        lines += 1
        ts = json.loads(line)["timestamp"]
        lat.append(e["t"] - datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp())
        windows.setdefault(int((e["t"] - since) // 5) if since else 0, []).append(lat[-1])
lat.sort()
out = {"requests": requests, "lines": lines, "connections": len(connections)}
if lat:
    out.update(latency_count=len(lat), latency_p50=lat[len(lat) // 2],
               latency_p99=lat[min(len(lat) - 1, int(len(lat) * 0.99))], latency_max=lat[-1],
               p99_by_5s=[round(sorted(w)[min(len(w) - 1, int(len(w) * 0.99))], 2) for _, w in sorted(windows.items())])
print(json.dumps(out))
PY
}

# Starts one drain-worker NAME with extra flags; its log is BENCH_TMP/NAME.log.
start_worker() {
  local name="$1"; shift
  "$BIN/drain-worker" --name "$name" --allow-private-endpoints --ca-file "$BENCH_TMP/certs/ca.pem" "$@" \
    2>"$BENCH_TMP/$name.log" &
  BENCH_PIDS+=($!)
}

# User+system CPU seconds of the benchmark cluster's server processes (postmaster and children).
pg_cpu_seconds() { tree_cpu_seconds "$(head -1 "$BENCH_TMP/pg/data/postmaster.pid")"; }

# User+system CPU seconds of a process and its children (nginx's master and its worker).
tree_cpu_seconds() {
  python3 - "$1" <<'PY'
import os, sys
pm = int(sys.argv[1])
tick = os.sysconf("SC_CLK_TCK")
total = 0.0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        continue
    f = stat[stat.rindex(")") + 2:].split()
    if int(pid) == pm or int(f[1]) == pm:
        total += (int(f[11]) + int(f[12])) / tick
print(f"{total:.3f}")
PY
}

sql() { psql -qtAX "$DATABASE_URL" "$@"; }
