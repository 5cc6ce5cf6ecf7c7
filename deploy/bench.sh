#!/usr/bin/env bash
# Every DESIGN §4 row from one command. Each scenario is its own script (deploy/bench-*.sh:
# a release build, its own private PostgreSQL with default durability, its own sink), run one
# after another; this prints one line per row: the figure, the target, and the same-run
# reference. Full logs go to .bench-output/<scenario>.log.
#   Reproduce: deploy/bench.sh                      # every row (about 30 minutes on 2 cores)
#              deploy/bench.sh firehose idle        # some rows
# Rows: firehose memory many wide idle history stall slow replica
set -euo pipefail
cd "$(dirname "$0")/.."
ALL=(firehose memory many wide idle history stall slow replica)
ROWS=("$@"); ((${#ROWS[@]})) || ROWS=("${ALL[@]}")
OUT=.bench-output; mkdir -p "$OUT"
declare -a RESULTS=()

COLLECT=1
run() {  # run NAME COMMAND...: keeps the log, collects its RESULT lines (unless COLLECT=0)
  local name="$1"; shift
  printf '\n==> [bench.sh] %s: %s\n' "$name" "$*"
  local start=$SECONDS
  if ! "$@" >"$OUT/$name.log" 2>&1; then
    echo "[bench.sh] $name failed; see $OUT/$name.log" >&2
    tail -5 "$OUT/$name.log" >&2
    RESULTS+=("$name | FAILED (see $OUT/$name.log) | - | -")
    return 0
  fi
  grep '^\[bench\]' "$OUT/$name.log" || true
  if ((COLLECT)); then
    while IFS= read -r line; do RESULTS+=("${line#RESULT }"); done < <(grep '^RESULT ' "$OUT/$name.log")
  fi
  echo "[bench.sh] $name took $((SECONDS - start)) s"
}

claim_ms() { awk '/^CLAIM_MS/ {print $2}' "$OUT/$1.log"; }

for row in "${ROWS[@]}"; do
  case "$row" in
    firehose) run firehose env SINK=nginx deploy/bench-firehose.sh 1000000 ;;
    memory)   run memory env SINK=nginx DRAINS=64 deploy/bench-firehose.sh 640000 ;;
    many)     run many deploy/bench-many.sh 1000 20 30 2 ;;
    wide)     run wide env CONCURRENCY=256 deploy/bench-many.sh 10000 1 30 2 ;;
    idle)
      # Claim cost with 1,000,000 drains (1,000 enabled) against the same run with 1,000.
      COLLECT=0
      run idle-base deploy/bench-many.sh 1000 20 10 2
      run idle env EXTRA_DISABLED=999000 deploy/bench-many.sh 1000 20 10 2
      COLLECT=1
      base=$(claim_ms idle-base); big=$(claim_ms idle)
      if [[ -n "$base" && -n "$big" ]]; then
        RESULTS+=("idle scale | claim $big ms with 1,000,000 drains = $(python3 -c "print(round($big / $base, 2))")x | <= 2x | claim $base ms with 1,000 drains, same statement")
      fi
      ;;
    history)  run history deploy/bench-history.sh 10000000 ;;
    stall)    run stall deploy/bench-stall.sh ;;
    slow)     run slow deploy/bench-slow.sh ;;
    replica)  run replica deploy/bench-standby.sh ;;
    *) echo "[bench.sh] unknown row $row (rows: ${ALL[*]})" >&2; exit 2 ;;
  esac
done

printf '\n==> [bench.sh] DESIGN §4, this machine (%s cores, %s)\n' "$(nproc)" "$(date -u +%Y-%m-%dT%H:%MZ)"
{
  echo "row | figure | target | reference"
  printf '%s\n' "${RESULTS[@]}"
} | column -t -s '|'
