#!/usr/bin/env bash
# Private PostgreSQL 15 cluster for the demo and the tests.
#
#   deploy/pg.sh start   DIR   initdb DIR/data if needed, start on 127.0.0.1:<free port>,
#                              create database "logdrain", write + print DIR/url
#   deploy/pg.sh stop    DIR   fast shutdown (no error if not running / not there)
#   deploy/pg.sh restart DIR   stop + start on the same port (for tests)
#   deploy/pg.sh url     DIR   print postgresql://postgres@127.0.0.1:PORT/logdrain
#   deploy/pg.sh status  DIR   exit 0 if running
#   deploy/pg.sh standby DIR PRIMARY_URL
#                              a streaming hot standby of PRIMARY_URL (pg_basebackup -R) in
#                              DIR/data, started like `start` (for --read-database-url)
#
# Env: PG_FAST=1 (on start) sets fsync=off, synchronous_commit=off, full_page_writes=off
#      (tests only, never the demo).
# As root, initdb and the server run as the OS user "postgres" (DB superuser: postgres,
# trust auth for local sockets and 127.0.0.1/::1).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT
DB_NAME=logdrain
DB_USER=postgres
PG_OS_USER=postgres

say() { echo "pg.sh: $*" >&2; }
die() { echo "pg.sh: error: $*" >&2; exit 1; }

usage() {
  echo "usage: $0 start|stop|restart|url|status DIR | $0 standby DIR PRIMARY_URL" >&2
  exit 2
}

(($# == 2)) || [[ "${1:-}" == standby && $# == 3 ]] || usage
CMD="$1"
[[ -n "$2" ]] || usage
mkdir_needed=0
[[ "$CMD" == start || "$CMD" == standby ]] && mkdir_needed=1
if ((mkdir_needed)); then
  mkdir -p -- "$2"
fi
if [[ -d "$2" ]]; then
  DIR="$(cd -- "$2" && pwd -P)"
else
  DIR="$2"
fi
DATA="$DIR/data"
LOG="$DIR/pg.log"

BINDIR=""
if command -v pg_config >/dev/null 2>&1; then
  BINDIR="$(pg_config --bindir 2>/dev/null || true)"
fi
if [[ -z "$BINDIR" || ! -x "$BINDIR/pg_ctl" ]]; then
  BINDIR=/usr/lib/postgresql/15/bin
fi
[[ -x "$BINDIR/pg_ctl" ]] || die "no pg_ctl in $BINDIR (run deploy/install-deps.sh)"

IS_ROOT=0
[[ "$(id -u)" -eq 0 ]] && IS_ROOT=1

# Run a PostgreSQL server-side tool as the cluster owner (postgres when we are root).
# The cwd is "/" so that an unreadable current directory does not matter.
as_owner() {
  if ((IS_ROOT)); then
    (cd / && runuser -u "$PG_OS_USER" -- "$@")
  else
    (cd / && "$@")
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

port_is_free() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

is_running() {
  [[ -f "$DATA/PG_VERSION" ]] || return 1
  as_owner "$BINDIR/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

current_port() {
  if [[ -f "$DIR/port" ]]; then cat "$DIR/port"; fi
}

url_for() { echo "postgresql://$DB_USER@127.0.0.1:$1/$DB_NAME"; }

ensure_owner_access() {
  ((IS_ROOT)) || return 0
  id "$PG_OS_USER" >/dev/null 2>&1 || die "OS user '$PG_OS_USER' does not exist (install postgresql-15)"
  chown "$PG_OS_USER:" "$DIR"
  chmod 0755 "$DIR"
  if ! runuser -u "$PG_OS_USER" -- test -x "$DIR" -a -w "$DIR"; then
    local p="$DIR" bad=""
    while [[ "$p" != "/" ]]; do
      p="$(dirname "$p")"
      if ! runuser -u "$PG_OS_USER" -- test -x "$p"; then bad="$p"; fi
    done
    die "the '$PG_OS_USER' OS user cannot traverse a parent of $DIR${bad:+ (e.g. $bad)}. Use a directory under /tmp, or 'chmod o+x' the parent directories."
  fi
}

do_initdb() {
  if [[ -f "$DATA/PG_VERSION" ]]; then
    say "reusing initialized cluster in $DATA"
    return 0
  fi
  if [[ -e "$DATA" ]]; then
    if [[ -d "$DATA" && -z "$(ls -A "$DATA")" ]]; then
      rmdir "$DATA"
    else
      die "$DATA exists but is not a PostgreSQL data directory; remove it"
    fi
  fi
  local locale=C
  if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then locale=C.UTF-8; fi
  say "initdb $DATA (UTF8, locale $locale, superuser $DB_USER, auth trust)"
  if ! as_owner "$BINDIR/initdb" -D "$DATA" -U "$DB_USER" -E UTF8 --locale="$locale" \
      --auth-local=trust --auth-host=trust >"$DIR/initdb.log" 2>&1; then
    cat "$DIR/initdb.log" >&2
    die "initdb failed"
  fi
  # Our settings live in an included file that 'start' rewrites.
  as_owner sh -c "printf '\n# deploy/pg.sh\ninclude_if_exists = '\''logdrain.conf'\''\n' >> '$DATA/postgresql.conf'"
}

write_conf() {
  local port="$1" sockdir="$DIR"
  # A unix socket path is limited to ~107 bytes; fall back to TCP only.
  if ((${#DIR} + 20 > 100)); then
    say "DIR path too long for a unix socket; TCP only"
    sockdir=""
  fi
  local conf
  conf="# written by deploy/pg.sh start; edits are overwritten
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sockdir'
max_connections = 300
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
"
  if [[ "${PG_FAST:-0}" == 1 ]]; then
    say "PG_FAST=1: fsync=off, synchronous_commit=off, full_page_writes=off"
    conf+="fsync = off
synchronous_commit = off
full_page_writes = off
"
  fi
  printf '%s' "$conf" | as_owner sh -c "cat > '$DATA/logdrain.conf'"
}

pg_start_server() {
  # setsid: the postmaster gets its own session, so a terminal Ctrl-C sent to the
  # caller's process group (e.g. deploy/demo.sh) does not fast-shutdown the database.
  if ((IS_ROOT)); then
    (cd / && setsid -w runuser -u "$PG_OS_USER" -- "$BINDIR/pg_ctl" start -w -t 60 -D "$DATA" -l "$LOG" >/dev/null)
  else
    (cd / && setsid -w "$BINDIR/pg_ctl" start -w -t 60 -D "$DATA" -l "$LOG" >/dev/null)
  fi
}

ensure_database() {
  local port="$1"
  local exists
  exists="$(PGCONNECT_TIMEOUT=10 "$BINDIR/psql" -X -q -h 127.0.0.1 -p "$port" -U "$DB_USER" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" || die "cannot connect to the new server on port $port (see $LOG)"
  if [[ "$exists" != 1 ]]; then
    say "create database $DB_NAME"
    "$BINDIR/createdb" -h 127.0.0.1 -p "$port" -U "$DB_USER" "$DB_NAME"
  fi
}

finish_start() {
  local port="$1" url
  url="$(url_for "$port")"
  echo "$port" >"$DIR/port"
  echo "$url" >"$DIR/url"
  say "running: $url (data $DATA, log $LOG)"
  echo "$url"
}

cmd_start() {
  ensure_owner_access
  if is_running; then
    local port
    port="$(current_port)"
    [[ -n "$port" ]] || die "server in $DATA is running but $DIR/port is missing"
    say "already running on port $port"
    ensure_database "$port"
    finish_start "$port"
    return 0
  fi
  do_initdb
  local attempt port
  for attempt in 1 2 3 4 5; do
    port="$(current_port)"
    if [[ -z "$port" ]] || ! port_is_free "$port"; then
      port="$(free_port)"
    fi
    write_conf "$port"
    say "starting PostgreSQL on 127.0.0.1:$port (attempt $attempt)"
    if pg_start_server; then
      ensure_database "$port"
      finish_start "$port"
      return 0
    fi
    rm -f "$DIR/port"
    if ! grep -qiE 'could not (bind|create listen)|address already in use' "$LOG" 2>/dev/null; then
      tail -n 20 "$LOG" >&2 || true
      die "pg_ctl start failed (see $LOG)"
    fi
    say "port $port taken, retrying with another one"
  done
  die "could not start PostgreSQL (see $LOG)"
}

cmd_stop() {
  if [[ ! -f "$DATA/PG_VERSION" ]]; then
    say "no cluster in $DATA; nothing to stop"
    return 0
  fi
  if ! is_running; then
    say "not running ($DATA)"
    return 0
  fi
  say "stopping PostgreSQL ($DATA)"
  as_owner "$BINDIR/pg_ctl" stop -w -t 60 -m fast -D "$DATA" >/dev/null 2>&1 || {
    if is_running; then
      say "fast stop failed; immediate stop"
      as_owner "$BINDIR/pg_ctl" stop -w -t 30 -m immediate -D "$DATA" >/dev/null 2>&1 || true
    fi
  }
  if is_running; then die "PostgreSQL in $DATA is still running"; fi
  say "stopped"
}

cmd_restart() {
  [[ -f "$DATA/PG_VERSION" ]] || die "no cluster in $DATA (run: $0 start $DIR)"
  local port
  port="$(current_port)"
  [[ -n "$port" ]] || die "$DIR/port missing (run: $0 start $DIR)"
  cmd_stop
  say "starting PostgreSQL on 127.0.0.1:$port (same port)"
  # logdrain.conf from the last start is kept as it is (same port, same PG_FAST settings).
  local attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if pg_start_server; then
      finish_start "$port"
      return 0
    fi
    say "start failed (attempt $attempt); retrying in 1 s"
    sleep 1
  done
  tail -n 20 "$LOG" >&2 || true
  die "could not restart PostgreSQL on port $port (see $LOG)"
}

cmd_standby() {
  local primary="${1:-}"
  [[ "$primary" =~ ^postgres(ql)?://([^@/]+@)?([^:/]+):([0-9]+)/ ]] || die "standby needs PRIMARY_URL like postgresql://USER@HOST:PORT/DB"
  local host="${BASH_REMATCH[3]}" pport="${BASH_REMATCH[4]}"
  ensure_owner_access
  if [[ ! -f "$DATA/PG_VERSION" ]]; then
    say "pg_basebackup from $host:$pport into $DATA (streaming standby, -R)"
    as_owner "$BINDIR/pg_basebackup" -h "$host" -p "$pport" -U "$DB_USER" -D "$DATA" -R -X stream -c fast \
      >"$DIR/basebackup.log" 2>&1 || { cat "$DIR/basebackup.log" >&2; die "pg_basebackup failed"; }
    rm -f "$DIR/port"
  fi
  [[ -f "$DATA/standby.signal" ]] || die "$DATA is not a standby (no standby.signal)"
  cmd_start
}

cmd_url() {
  [[ -f "$DIR/url" ]] || die "no $DIR/url (run: $0 start $DIR)"
  cat "$DIR/url"
}

case "$CMD" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_restart ;;
  url) cmd_url ;;
  standby) cmd_standby "${3:-}" ;;
  status)
    if is_running; then echo "running: $(cat "$DIR/url" 2>/dev/null || true)"; else echo "not running"; exit 3; fi
    ;;
  *) usage ;;
esac
