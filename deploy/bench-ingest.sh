#!/usr/bin/env bash
# Benchmark: `drain-admin ingest` of N generated lines (default 1,000,000) into a private
# PostgreSQL through COPY. Prints lines/s.   Reproduce: deploy/bench-ingest.sh [N]
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
N="${1:-1000000}"
bench_setup
"$BIN/drain-admin" account create bench >/dev/null
phase "generating $N lines"
generate_lines "$N" "$BENCH_TMP/lines.ndjson"
ls -lh "$BENCH_TMP/lines.ndjson" | awk '{print "[bench] file size " $5}'
phase "drain-admin ingest bench ($N lines)"
t0=$(now)
"$BIN/drain-admin" ingest bench "$BENCH_TMP/lines.ndjson"
t1=$(now)
python3 - "$N" "$t0" "$t1" <<'PY'
import sys
n, t0, t1 = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print(f"[bench] ingest: {n} lines in {t1 - t0:.2f} s = {n / (t1 - t0):,.0f} lines/s (target >= 100,000 lines/s)")
PY
