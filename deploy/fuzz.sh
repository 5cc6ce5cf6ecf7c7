#!/usr/bin/env bash
# The long run of the property tests (the test command runs them at scale 1): the NDJSON
# encoder round trip, the ingest parser on mangled lines, URL redaction with planted tokens and
# the validator, response-snippet redaction. Prints the cases run; any failure prints the seed
# to reproduce it. A crash found this way becomes a fixed regression case in PropertyTests.
#   Reproduce: deploy/fuzz.sh [SCALE] [SEED]     (default: 200 x the test command's cases, seed 1)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then export PATH="/opt/swift/usr/bin:$PATH"; fi
SCALE="${1:-200}"; SEED="${2:-1}"
echo "[fuzz] PropertyTests at scale $SCALE (encoder $((3000 * SCALE)), ingest $((20000 * SCALE)), redaction $((5000 * SCALE)) cases), seed $SEED"
start=$(date +%s)
if PROPERTY_SCALE="$SCALE" PROPERTY_SEED="$SEED" swift test --filter PropertyTests; then
  echo "[fuzz] passed in $(( $(date +%s) - start )) s"
else
  echo "[fuzz] FAILED: reproduce with deploy/fuzz.sh $SCALE $SEED"
  exit 1
fi
