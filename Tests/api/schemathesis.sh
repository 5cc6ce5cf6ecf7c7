#!/usr/bin/env bash
# Property-based API test: schemathesis generates requests from the served OpenAPI document
# (/api/v1/openapi.json) against a real `drain-admin serve`, signed in as a fresh account's
# admin, and checks: no 5xx, every status code, content type, header and body as documented.
# Bounded: SCHEMATHESIS_EXAMPLES (default 40) examples per operation; SCHEMATHESIS_SEED to replay.
#
# Needs the environment of deploy/test.sh (DATABASE_URL, DRAIN_BIN_DIR, DRAIN_CA_FILE).
#   Tests/api/schemathesis.sh
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ADMIN="$DRAIN_BIN_DIR/drain-admin"
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-40}"
WORK="$(mktemp -d)"
SERVE_PID=""
cleanup() {
  [[ -n "$SERVE_PID" ]] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
  rm -rf -- "$WORK"
}
trap cleanup EXIT

account="st-$(openssl rand -hex 4)"
"$ADMIN" account create "$account" >/dev/null
"$ADMIN" member add "$account" "admin@$account.example" --role admin >/dev/null
token="$("$ADMIN" token create "$account" "admin@$account.example" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"

"$ADMIN" serve --listen 127.0.0.1:0 --allow-private-endpoints --ca-file "$DRAIN_CA_FILE" 2>"$WORK/serve.log" &
SERVE_PID=$!
for _ in $(seq 1 100); do
  url="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$WORK/serve.log" || true)"
  [[ -n "$url" ]] && break
  kill -0 "$SERVE_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
  sleep 0.2
done
[[ -n "$url" ]] || { echo "schemathesis.sh: serve did not start" >&2; exit 1; }

seed_args=()
[[ -n "${SCHEMATHESIS_SEED:-}" ]] && seed_args=(--seed "$SCHEMATHESIS_SEED")
echo "schemathesis.sh: $url/api/v1/openapi.json, $EXAMPLES examples per operation, account $account"
cd "$WORK"
schemathesis run "$url/api/v1/openapi.json" \
  --header "Authorization: Bearer $token" \
  --max-examples "$EXAMPLES" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --generation-database none \
  "${seed_args[@]}"
echo "schemathesis.sh: reproduce with SCHEMATHESIS_SEED=<the Seed above> Tests/api/schemathesis.sh (under deploy/test.sh's environment)"
