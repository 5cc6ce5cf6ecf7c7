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
