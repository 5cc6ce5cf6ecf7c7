#!/usr/bin/env bash
# Benchmark (issue 10, the firehose's read): what one drain's 5000-line read costs PostgreSQL
# and its client, by how it is written and taken: with the server-side byte cut (a running-sum
# window) or the plain index scan, text or binary results, the whole result or row by row.
# A small libpq program (deploy/bench/read-variants.c, built with cc) walks a 1,000,000-line
# backlog in 5000-line steps for each variant.
#   Reproduce: deploy/bench-read.sh [N]
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
N="${1:-1000000}"
command -v cc >/dev/null || { echo "[bench] a C compiler is missing: apt-get install -y gcc" >&2; exit 1; }
bench_setup
cc -O2 -o "$BENCH_TMP/read-variants" deploy/bench/read-variants.c -I/usr/include/postgresql -lpq
phase "backlog: one drain x $N lines"
generate_lines "$N" "$BENCH_TMP/lines.ndjson"
openssl rand -hex 40 >"$BENCH_TMP/secret"
"$BIN/drain-admin" account create reads >/dev/null
"$BIN/drain-admin" member add reads bench@example.com --role admin >/dev/null
"$BIN/drain-admin" create reads --as bench@example.com --name reads --url https://127.0.0.1:9/x \
  --secret-file "$BENCH_TMP/secret" --sampling-rate 5000 --skip-test --allow-private-endpoints >/dev/null
"$BIN/drain-admin" ingest reads "$BENCH_TMP/lines.ndjson" >/dev/null
sql -c "vacuum analyze logs" >/dev/null
phase "each read variant over the whole backlog"
for v in "win 0 0" "win 1 0" "plain 0 0" "plain 1 0" "plain 0 1" "plain 1 1" "size 0 0"; do
  # shellcheck disable=SC2086
  echo "[bench] $("$BENCH_TMP/read-variants" "$DATABASE_URL" $v)"
done
