#!/usr/bin/env bash
# THE demo: builds LogDrain (release), starts a private PostgreSQL under .run/demo/pg, a local
# HTTPS receiver that verifies signatures, one demo account + drain, three workers, a sample
# log producer and the dashboard (`drain-admin serve`, with a sign-in token printed), then shows a
# live status view every 2 s. Ctrl-C stops everything it started.
#
#   deploy/demo.sh
#   DEMO_DURATION=60 deploy/demo.sh     # stop by itself after 60 s
#   DEMO_LISTEN=127.0.0.1:8080          # where the dashboard listens (default; 127.0.0.1:0 picks a port)
#
# State lives in .run/demo/ (reused by the next run): pg/ (cluster + url), certs/, secret,
# receiver.out (what the receiver printed), receiver.log (JSON per request), worker-N.log,
# producer.log.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
  export PATH="/opt/swift/usr/bin:$PATH"
fi

RUN="$REPO_ROOT/.run/demo"
ACCOUNT=demo
ADMIN_EMAIL=admin@example.com
DRAIN_NAME="Demo receiver"
WORKERS=3

phase() { printf '\n==> [demo] %s\n' "$*"; }
die() { echo "[demo] error: $*" >&2; exit 1; }

RECEIVER_PID=""
SERVE_PID=""
PRODUCER_PID=""
WORKER_PIDS=()
PG_STARTED=0
CLEANED=0

stop_pid() { # stop_pid PID NAME GRACE_SECONDS
  local pid="$1" name="$2" grace="$3" i
  [[ -n "$pid" ]] || return 0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "[demo] $name (pid $pid) did not stop in ${grace}s; killing it"
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  return 0
}

cleanup() {
  local status=$?
  ((CLEANED)) && return 0
  CLEANED=1
  set +e
  trap '' INT TERM
  phase "stopping everything the demo started"
  if [[ -n "$PRODUCER_PID" ]]; then
    echo "[demo] stopping the log producer"
    stop_pid "$PRODUCER_PID" producer 5
  fi
  if ((${#WORKER_PIDS[@]})); then
    echo "[demo] SIGTERM to workers (${WORKER_PIDS[*]}); waiting for in-flight deliveries"
    kill -TERM "${WORKER_PIDS[@]}" 2>/dev/null
    local pid
    for pid in "${WORKER_PIDS[@]}"; do stop_pid "$pid" "worker" 30; done
    echo "[demo] workers stopped"
  fi
  if [[ -n "$SERVE_PID" ]]; then
    echo "[demo] stopping the dashboard"
    stop_pid "$SERVE_PID" "drain-admin serve" 5
  fi
  if [[ -n "$RECEIVER_PID" ]]; then
    echo "[demo] stopping the receiver"
    stop_pid "$RECEIVER_PID" receiver 5
  fi
  if ((PG_STARTED)); then
    "$REPO_ROOT/deploy/pg.sh" stop "$RUN/pg"
  fi
  echo "[demo] done (state kept in $RUN)"
  return "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

phase "dependencies"
deploy/install-deps.sh

phase "swift build -c release"
swift build -c release
BIN="$(swift build -c release --show-bin-path)"
ADMIN="$BIN/drain-admin"
WORKER="$BIN/drain-worker"
[[ -x "$ADMIN" && -x "$WORKER" ]] || die "no drain-admin/drain-worker in $BIN"
echo "[demo] binaries in $BIN"

mkdir -p "$RUN"
chmod 755 "$REPO_ROOT/.run" "$RUN"

phase "PostgreSQL (private cluster in $RUN/pg)"
PG_STARTED=1
deploy/pg.sh start "$RUN/pg" >/dev/null
DATABASE_URL="$(cat "$RUN/pg/url")"
export DATABASE_URL
echo "[demo] DATABASE_URL=$DATABASE_URL"

phase "TLS certificates ($RUN/certs)"
deploy/certs.sh "$RUN/certs"
CA_FILE="$RUN/certs/ca.pem"

phase "secret"
if [[ ! -s "$RUN/secret" ]]; then
  (umask 077 && openssl rand -hex 48 >"$RUN/secret")
  echo "[demo] generated $RUN/secret (96 hex characters)"
else
  echo "[demo] reusing $RUN/secret"
fi
# Secrets at rest (DESIGN §5): drain-admin and the workers share this key file; PostgreSQL
# stores only the encrypted secret (see `select secret from drains`).
if [[ ! -s "$RUN/secret-keys" ]]; then
  (umask 077 && printf 'demo-k1 %s\n' "$(openssl rand -base64 32)" >"$RUN/secret-keys")
  echo "[demo] generated $RUN/secret-keys (key demo-k1)"
fi
export DRAIN_SECRET_KEYS_FILE="$RUN/secret-keys"

phase "HTTPS receiver"
PREV_PORT="$(cat "$RUN/receiver.port" 2>/dev/null || true)"
rm -f "$RUN/receiver.port"
PORT_ARG=0
if [[ "$PREV_PORT" =~ ^[0-9]+$ ]] && python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$PREV_PORT" 2>/dev/null; then
  PORT_ARG="$PREV_PORT" # same URL as last time, so an existing drain still matches
fi
python3 deploy/receiver.py --port "$PORT_ARG" --port-file "$RUN/receiver.port" \
  --cert "$RUN/certs/server.pem" --key "$RUN/certs/server.key" \
  --secret-file "$RUN/secret" --log "$RUN/receiver.log" --print \
  </dev/null >>"$RUN/receiver.out" 2>>"$RUN/receiver.err" &
RECEIVER_PID=$!
for _ in $(seq 1 100); do
  [[ -s "$RUN/receiver.port" ]] && break
  kill -0 "$RECEIVER_PID" 2>/dev/null || { tail -n 20 "$RUN/receiver.err" >&2; die "the receiver did not start"; }
  sleep 0.1
done
[[ -s "$RUN/receiver.port" ]] || die "the receiver did not start"
RECEIVER_URL="https://127.0.0.1:$(cat "$RUN/receiver.port")"
echo "[demo] receiver $RECEIVER_URL (prints to $RUN/receiver.out)"

export DRAIN_CA_FILE="$CA_FILE"
export DRAIN_ALLOW_PRIVATE_ENDPOINTS=1

phase "drain-admin migrate"
"$ADMIN" migrate

phase "account '$ACCOUNT' and admin $ADMIN_EMAIL"
json_field() { # json_field FIELD < JSON-object-or-array-of-objects-with-name==$ACCOUNT
  python3 -c '
import json, sys
field, name = sys.argv[1], sys.argv[2]
data = json.load(sys.stdin)
if isinstance(data, dict):
    data = [data]
for obj in data:
    if obj.get("name") == name:
        print(obj.get(field, ""))
        break
else:
    sys.exit(1)
' "$1" "$ACCOUNT"
}
if ACCOUNT_JSON="$("$ADMIN" account create "$ACCOUNT" --json 2>"$RUN/account.err")"; then
  echo "[demo] created account $ACCOUNT"
else
  ACCOUNT_JSON="$("$ADMIN" account list --json)" || die "account list failed"
  printf '%s' "$ACCOUNT_JSON" | json_field id >/dev/null ||
    die "cannot create account $ACCOUNT: $(cat "$RUN/account.err")"
  echo "[demo] account $ACCOUNT already exists"
fi
ACCOUNT_ID="$(printf '%s' "$ACCOUNT_JSON" | json_field id)"
echo "[demo] account id (logs.account_id): $ACCOUNT_ID"

if "$ADMIN" member add "$ACCOUNT" "$ADMIN_EMAIL" --role admin 2>"$RUN/member.err"; then
  echo "[demo] $ADMIN_EMAIL is an admin of $ACCOUNT"
else
  if "$ADMIN" member list "$ACCOUNT" --json | python3 -c '
import json, sys
sys.exit(0 if any(m.get("email") == sys.argv[1] and m.get("role") == "admin" for m in json.load(sys.stdin)) else 1)
' "$ADMIN_EMAIL"; then
    echo "[demo] $ADMIN_EMAIL is already an admin of $ACCOUNT"
  else
    die "cannot make $ADMIN_EMAIL an admin of $ACCOUNT: $(cat "$RUN/member.err")"
  fi
fi

phase "drain '$DRAIN_NAME'"
DRAIN_URL="$RECEIVER_URL/ok/demo?api_key=demo-key"
# Pick an existing drain: the enabled one, else the one named $DRAIN_NAME, else any.
read -r DRAIN_ID DRAIN_ENABLED DRAIN_SHOWN_URL < <("$ADMIN" list "$ACCOUNT" --json | python3 -c '
import json, sys
drains = json.load(sys.stdin)
pick = next((d for d in drains if d.get("enabled")), None) \
    or next((d for d in drains if d.get("name") == sys.argv[1]), None) \
    or (drains[0] if drains else None)
print(pick["id"], "true" if pick.get("enabled") else "false", pick.get("url", "")) if pick else print("- - -")
' "$DRAIN_NAME") || die "drain-admin list failed"
if [[ "$DRAIN_ID" == "-" ]]; then
  "$ADMIN" create "$ACCOUNT" --as "$ADMIN_EMAIL" --name "$DRAIN_NAME" --url "$DRAIN_URL" \
    --secret-file "$RUN/secret" --allow-private-endpoints --ca-file "$CA_FILE"
else
  echo "[demo] reusing drain $DRAIN_ID ($DRAIN_SHOWN_URL, enabled=$DRAIN_ENABLED)"
  if [[ "$DRAIN_SHOWN_URL" != "$RECEIVER_URL/"* ]]; then
    echo "[demo] pointing it at this run's receiver"
    "$ADMIN" update "$DRAIN_ID" --as "$ADMIN_EMAIL" --url "$DRAIN_URL" --secret-file "$RUN/secret" \
      --allow-private-endpoints --ca-file "$CA_FILE"
  fi
  if [[ "$DRAIN_ENABLED" != true ]]; then
    "$ADMIN" enable "$DRAIN_ID" --as "$ADMIN_EMAIL"
  fi
  # A drain from a run before the key file existed holds its secret as given: encrypt it now.
  "$ADMIN" rotate-secrets || echo "[demo] rotate-secrets reported a problem (see above)"
fi

phase "$WORKERS workers"
for n in $(seq 1 "$WORKERS"); do
  "$WORKER" --name "demo-$n" --allow-private-endpoints --ca-file "$CA_FILE" \
    </dev/null >>"$RUN/worker-$n.log" 2>&1 &
  WORKER_PIDS+=($!)
  echo "[demo] drain-worker demo-$n (pid $!, log $RUN/worker-$n.log)"
done

phase "sample log producer (drain-admin ingest $ACCOUNT every 0.5 s)"
producer() {
  local i=0 levels=(info info info warning error) ts
  while :; do
    ts="$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)"
    {
      printf '{"timestamp":"%s","message":"request %d handled in %d ms","level":"%s","fal_app_name":"demo-app","fal_app_id":"app-123","fal_request_id":"req-%d","fal_endpoint":"/","fal_source":"run"}\n' \
        "$ts" "$i" $((RANDOM % 900 + 10)) "${levels[RANDOM % 5]}" "$i"
      printf '{"timestamp":"%s","message":"model step %d: loss=0.%04d","level":"info","fal_app_name":"demo-app","fal_request_id":"req-%d","fal_isolate_source":"stdout"}\n' \
        "$ts" "$i" $((RANDOM % 10000)) "$i"
      printf '{"timestamp":"%s","message":"heartbeat \\"ok\\" é","level":"debug","fal_source":"gateway"}\n' "$ts"
    } | "$ADMIN" ingest "$ACCOUNT" >>"$RUN/producer.log" 2>&1 || echo "[producer] ingest failed" >>"$RUN/producer.log"
    i=$((i + 1))
    sleep 0.5
  done
}
producer </dev/null &
PRODUCER_PID=$!

phase "dashboard and API (drain-admin serve)"
: >"$RUN/serve.log"
LISTEN="${DEMO_LISTEN:-127.0.0.1:8080}"
if [[ -z "${DEMO_LISTEN:-}" ]] && ! python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 8080))' 2>/dev/null; then
  echo "[demo] port 8080 is taken; the dashboard takes a free port instead"
  LISTEN=127.0.0.1:0
fi
"$ADMIN" serve --listen "$LISTEN" --allow-private-endpoints --ca-file "$CA_FILE" \
  </dev/null >>"$RUN/serve.log" 2>&1 &
SERVE_PID=$!
DASHBOARD_URL=""
for _ in $(seq 1 100); do
  DASHBOARD_URL="$(grep -o 'http://[^ ]*/$' "$RUN/serve.log" | tail -n 1 || true)"
  [[ -n "$DASHBOARD_URL" ]] && break
  kill -0 "$SERVE_PID" 2>/dev/null || { tail -n 5 "$RUN/serve.log" >&2; die "drain-admin serve did not start (see $RUN/serve.log)"; }
  sleep 0.1
done
[[ -n "$DASHBOARD_URL" ]] || die "drain-admin serve did not start"
"$ADMIN" token revoke "$ACCOUNT" "$ADMIN_EMAIL" >/dev/null # one live demo token: the previous run's ends
SIGNIN_TOKEN="$("$ADMIN" token create "$ACCOUNT" "$ADMIN_EMAIL" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')"
echo "[demo] dashboard: open $DASHBOARD_URL and sign in with the token"
echo "[demo]   $SIGNIN_TOKEN"
echo "[demo] API:       curl -H 'Authorization: Bearer $SIGNIN_TOKEN' ${DASHBOARD_URL}api/v1/drains"

phase "live status (Ctrl-C to stop)"
START=$SECONDS
while :; do
  frame="$(
    echo "LogDrain demo — $(date '+%H:%M:%S')   receiver $RECEIVER_URL   Ctrl-C stops everything"
    echo "dashboard $DASHBOARD_URL   sign-in token $SIGNIN_TOKEN"
    echo
    echo "### drain-admin list $ACCOUNT"
    "$ADMIN" list "$ACCOUNT" 2>&1 || true
    echo
    echo "### drain-admin workers"
    "$ADMIN" workers 2>&1 || true
    echo
    echo "### receiver (last 12 requests; full log $RUN/receiver.log)"
    tail -n 12 "$RUN/receiver.out" 2>/dev/null || true
  )"
  if [[ -t 1 ]]; then printf '\033[H\033[2J\033[3J'; else echo "----"; fi
  printf '%s\n' "$frame"
  kill -0 "$SERVE_PID" 2>/dev/null || echo "!! the dashboard exited; see $RUN/serve.log"
  for n in "${!WORKER_PIDS[@]}"; do
    kill -0 "${WORKER_PIDS[$n]}" 2>/dev/null || echo "!! worker demo-$((n + 1)) exited; see $RUN/worker-$((n + 1)).log"
  done
  if [[ -n "${DEMO_DURATION:-}" ]] && ((SECONDS - START >= DEMO_DURATION)); then
    echo "[demo] DEMO_DURATION=${DEMO_DURATION}s reached"
    break
  fi
  sleep 2
done
