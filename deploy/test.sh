#!/usr/bin/env bash
# THE test command: builds LogDrain, starts a private PostgreSQL 15 cluster, TLS material and
# a local HTTPS receiver in a temp dir, then runs `swift test "$@"` against them.
# Everything it started is stopped and the temp dir removed on exit, whatever happens.
#
#   deploy/test.sh                      # all tests
#   deploy/test.sh --filter DeliveryTests
#
# Exported to the tests:
#   DATABASE_URL            postgresql://postgres@127.0.0.1:PORT/logdrain (superuser, trust)
#   PG_DIR                  the cluster dir: `deploy/pg.sh restart "$PG_DIR"` restarts it (same port)
#   PGBOUNCER_URL           the same database through pgbouncer in transaction pooling mode
#   DRAIN_BIN_DIR           `swift build --show-bin-path` (drain-admin, drain-worker)
#   DRAIN_CA_FILE           CA that signed the receiver's certificate
#   CERTS_DIR               ca.pem/.key, server.pem/.key, untrusted.pem/.key
#   RECEIVER_URL            https://127.0.0.1:PORT (deploy/receiver.py; see its routes)
#   RECEIVER_PORT           PORT
#   RECEIVER_LOG            its JSON-lines request log
#   RECEIVER_SECRET_FILE    the secret it verifies X-Fal-Signature with (80 hex chars + "\n")
#   RECEIVER_UNTRUSTED_CERT, RECEIVER_UNTRUSTED_KEY   self-signed cert/key not under the CA
#   RECEIVER_SCRIPT         deploy/receiver.py (to start extra receivers)
#   LOGDRAIN_TEST_TMP       the temp dir (scratch space, removed at exit)
#   REPO_ROOT               the checkout
# DRAIN_ALLOW_PRIVATE_ENDPOINTS is deliberately NOT exported: tests pass the flag themselves.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
  export PATH="/opt/swift/usr/bin:$PATH"
fi

if [[ "${1:-}" == "--unit" ]]; then shift; fi # accepted, no special meaning

phase() { printf '\n==> [test.sh] %s\n' "$*"; }

TMP=""
RECEIVER_PID=""
PGBOUNCER_STARTED=0
CLEANED=0
cleanup() {
  local status=$?
  ((CLEANED)) && return 0
  CLEANED=1
  set +e
  if [[ -n "$TMP" ]]; then
    phase "cleanup (exit status $status)"
    if [[ "$status" -ne 0 ]]; then
      [[ -s "$TMP/receiver.stderr" ]] && { echo "--- receiver stderr (tail)"; tail -n 20 "$TMP/receiver.stderr"; }
      [[ -s "$TMP/pg/pg.log" ]] && { echo "--- PostgreSQL log (tail)"; tail -n 30 "$TMP/pg/pg.log"; }
    fi
    if [[ -n "$RECEIVER_PID" ]] && kill -0 "$RECEIVER_PID" 2>/dev/null; then
      kill -TERM "$RECEIVER_PID" 2>/dev/null
      for _ in $(seq 1 50); do kill -0 "$RECEIVER_PID" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$RECEIVER_PID" 2>/dev/null
      wait "$RECEIVER_PID" 2>/dev/null
    fi
    if ((PGBOUNCER_STARTED)); then
      "$REPO_ROOT/deploy/pgbouncer.sh" stop "$TMP/pgbouncer"
    fi
    if [[ -d "$TMP/standby" ]]; then
      "$REPO_ROOT/deploy/pg.sh" stop "$TMP/standby"
    fi
    if [[ -d "$TMP/pg" ]]; then
      "$REPO_ROOT/deploy/pg.sh" stop "$TMP/pg"
    fi
    rm -rf -- "$TMP"
    echo "[test.sh] removed $TMP"
  fi
  return 0
}
trap 'cleanup' EXIT
trap 'echo "[test.sh] interrupted" >&2; exit 130' INT
trap 'echo "[test.sh] terminated" >&2; exit 143' TERM

phase "dependencies"
deploy/install-deps.sh --test

phase "layers: every import along the layer rule and declared (Tests/layers/check_layers.py)"
python3 Tests/layers/check_layers.py

phase "swift build (debug)"
swift build
DRAIN_BIN_DIR="$(swift build --show-bin-path)"
echo "[test.sh] binaries in $DRAIN_BIN_DIR"

phase "temp dir"
TMP="$(mktemp -d /tmp/logdrain-test.XXXXXX)"
chmod 755 "$TMP"
echo "[test.sh] $TMP"

phase "PostgreSQL (private cluster, PG_FAST=1)"
PG_FAST=1 deploy/pg.sh start "$TMP/pg" >/dev/null
DATABASE_URL="$(cat "$TMP/pg/url")"
echo "[test.sh] DATABASE_URL=$DATABASE_URL"

phase "TLS certificates"
deploy/certs.sh "$TMP/certs"

phase "HTTPS receiver"
umask 077
openssl rand -hex 40 >"$TMP/secret" # 80 characters + one trailing newline
umask 022
python3 deploy/receiver.py --port 0 --port-file "$TMP/receiver.port" \
  --cert "$TMP/certs/server.pem" --key "$TMP/certs/server.key" \
  --secret-file "$TMP/secret" --log "$TMP/receiver.log" \
  </dev/null >"$TMP/receiver.stdout" 2>"$TMP/receiver.stderr" &
RECEIVER_PID=$!
for _ in $(seq 1 100); do
  [[ -s "$TMP/receiver.port" ]] && break
  kill -0 "$RECEIVER_PID" 2>/dev/null || { cat "$TMP/receiver.stderr" >&2; echo "[test.sh] receiver died" >&2; exit 1; }
  sleep 0.1
done
[[ -s "$TMP/receiver.port" ]] || { echo "[test.sh] receiver did not start" >&2; exit 1; }
RECEIVER_PORT="$(cat "$TMP/receiver.port")"
RECEIVER_URL="https://127.0.0.1:$RECEIVER_PORT"
if ! curl -sS --max-time 10 --cacert "$TMP/certs/ca.pem" "$RECEIVER_URL/_stats" >/dev/null; then
  echo "[test.sh] receiver at $RECEIVER_URL does not answer" >&2
  exit 1
fi
echo "[test.sh] receiver $RECEIVER_URL (pid $RECEIVER_PID, log $TMP/receiver.log)"

phase "pgbouncer (transaction pooling) in front of the cluster"
deploy/pgbouncer.sh start "$TMP/pgbouncer" "$DATABASE_URL" >/dev/null
PGBOUNCER_URL="$(cat "$TMP/pgbouncer/url")"
PGBOUNCER_STARTED=1
echo "[test.sh] PGBOUNCER_URL=$PGBOUNCER_URL"

export REPO_ROOT DATABASE_URL DRAIN_BIN_DIR PGBOUNCER_URL
export PG_DIR="$TMP/pg"
export CERTS_DIR="$TMP/certs"
export DRAIN_CA_FILE="$TMP/certs/ca.pem"
export RECEIVER_URL RECEIVER_PORT
export RECEIVER_LOG="$TMP/receiver.log"
export RECEIVER_SECRET_FILE="$TMP/secret"
export RECEIVER_UNTRUSTED_CERT="$TMP/certs/untrusted.pem"
export RECEIVER_UNTRUSTED_KEY="$TMP/certs/untrusted.key"
export RECEIVER_SCRIPT="$REPO_ROOT/deploy/receiver.py"
export LOGDRAIN_TEST_TMP="$TMP"
unset DRAIN_ALLOW_PRIVATE_ENDPOINTS

phase "swift test $*"
set +e
swift test "$@"
status=$?
set -e
failed=()
((status == 0)) || failed+=("swift test (exit status $status)")

# The dashboard in a real browser and the API against its own document. They run with the full
# suite; a filtered run (deploy/test.sh --filter X) skips them unless LOGDRAIN_PEER_TESTS=1.
if [[ $# -eq 0 || "${LOGDRAIN_PEER_TESTS:-}" == "1" ]]; then
  phase "delivery, failure and cluster tests again, the workers behind pgbouncer (transaction pooling)"
  LOGDRAIN_WORKER_DATABASE_URL="$PGBOUNCER_URL" swift test --skip-build \
    --filter 'IntegrationTests.DeliveryTests|IntegrationTests.ReliabilityTests' || failed+=("tests behind pgbouncer")
  export SCREENSHOT_DIR="$REPO_ROOT/.test-output/screenshots"
  phase "browser test: the dashboard in headless Chromium (Tests/browser/dashboard_test.py)"
  /usr/bin/python3 Tests/browser/dashboard_test.py || failed+=("browser test")
  phase "API test: schemathesis against /api/v1/openapi.json (Tests/api/schemathesis.sh)"
  Tests/api/schemathesis.sh || failed+=("schemathesis")
  phase "runbooks: every sh and sql block of deploy/runbooks/*.md (Tests/runbooks/run_runbooks.py)"
  python3 Tests/runbooks/run_runbooks.py || failed+=("runbooks")
  phase "deployment files: systemd-analyze verify, kubernetes-validate, flags (deploy/check-deploy.py)"
  python3 deploy/check-deploy.py "$DRAIN_BIN_DIR" || failed+=("deployment files")
fi

if ((${#failed[@]} == 0)); then
  phase "PASSED"
  exit 0
fi
phase "FAILED: ${failed[*]}"
exit 1
