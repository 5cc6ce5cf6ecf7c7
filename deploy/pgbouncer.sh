#!/usr/bin/env bash
# A private pgbouncer (Debian's 1.18) in transaction pooling mode in front of a PostgreSQL, for
# the tests and for trying the pooled setup by hand.
#
#   deploy/pgbouncer.sh start DIR DATABASE_URL   write DIR/pgbouncer.ini, start on 127.0.0.1:<free port>,
#                                                write + print DIR/url (the same database through the pooler)
#   deploy/pgbouncer.sh stop  DIR                stop it (no error if not running)
#
# Clients through it use --transaction-pooling (or DRAIN_TRANSACTION_POOLING=1). Authentication:
# trust for the users in DIR/userlist.txt (postgres, plus any given in PGBOUNCER_USERS), the
# server connection logs in as the client's user. As root it runs as the OS user postgres
# (pgbouncer refuses to run as root).
set -euo pipefail

say() { echo "pgbouncer.sh: $*" >&2; }
die() { echo "pgbouncer.sh: error: $*" >&2; exit 1; }

cmd="${1:-}"
DIR="${2:-}"
[[ -n "$cmd" && -n "$DIR" ]] || { echo "usage: $0 start DIR DATABASE_URL | stop DIR" >&2; exit 2; }
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"

as_owner() {
  if [[ "$(id -u)" -eq 0 ]]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

case "$cmd" in
  start)
    url="${3:-}"
    [[ "$url" =~ ^postgres(ql)?://([^@/]+@)?([^:/]+):([0-9]+)/([^?]+) ]] ||
      die "DATABASE_URL must look like postgresql://USER@HOST:PORT/DB (got $url)"
    host="${BASH_REMATCH[3]}" port="${BASH_REMATCH[4]}" db="${BASH_REMATCH[5]}"
    command -v pgbouncer >/dev/null || die "pgbouncer is not installed (apt-get install -y pgbouncer)"
    listen="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    {
      echo '"postgres" ""'
      for u in ${PGBOUNCER_USERS:-}; do echo "\"$u\" \"\""; done
    } >"$DIR/userlist.txt"
    cat >"$DIR/pgbouncer.ini" <<INI
[databases]
$db = host=$host port=$port dbname=$db
* = host=$host port=$port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $listen
unix_socket_dir =
auth_type = trust
auth_file = $DIR/userlist.txt
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
ignore_startup_parameters = extra_float_digits
server_reset_query =
logfile = $DIR/pgbouncer.log
pidfile = $DIR/pgbouncer.pid
admin_users = postgres
INI
    [[ "$(id -u)" -eq 0 ]] && chown -R postgres: "$DIR"
    as_owner pgbouncer -d "$DIR/pgbouncer.ini"
    for _ in $(seq 1 50); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$listen") 2>/dev/null; then break; fi
      sleep 0.1
    done
    echo "postgresql://postgres@127.0.0.1:$listen/$db" >"$DIR/url"
    say "pgbouncer (transaction pooling) on 127.0.0.1:$listen -> $host:$port/$db"
    cat "$DIR/url"
    ;;
  stop)
    if [[ -s "$DIR/pgbouncer.pid" ]]; then
      pid="$(cat "$DIR/pgbouncer.pid")"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      say "stopped"
    fi
    ;;
  *) die "unknown command $cmd" ;;
esac
