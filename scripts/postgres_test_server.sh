#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and benchmarks, on 127.0.0.1 in a temp dir.
#
#   scripts/postgres_test_server.sh [start|stop|status|url]
#
# start (default) installs PostgreSQL with apt-get when no server binaries exist, initialises a
# cluster in $PG_TEST_DIR (trust auth, no durability: it is a test server) and starts it on
# $PG_TEST_PORT. It is idempotent: a running server is reused. The last line printed is the
# SQLAlchemy URL to connect to. PostgreSQL refuses to run as root, so as root the server runs as
# the `postgres` system user (created by the package).
set -euo pipefail

PG_TEST_DIR="${PG_TEST_DIR:-${TMPDIR:-/tmp}/segmentation-pg-test}"
PG_TEST_PORT="${PG_TEST_PORT:-55432}"
DATA_DIR="$PG_TEST_DIR/data"
LOG_FILE="$PG_TEST_DIR/server.log"
URL="postgresql+psycopg2://postgres@127.0.0.1:${PG_TEST_PORT}/postgres"

find_bin() {
  # Newest installed major version; the Debian packages keep binaries out of PATH.
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

install_postgres() {
  echo "PostgreSQL server binaries not found; installing with apt-get" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "cannot install PostgreSQL: not root (install the 'postgresql' package)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
}

PG_BIN="$(find_bin)"
if [ -z "$PG_BIN" ] && [ "${1:-start}" = "start" ]; then
  install_postgres
  PG_BIN="$(find_bin)"
fi

# As root, the server runs as the `postgres` system user (the package creates it).
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin postgres
fi

# Run a PostgreSQL binary as a non-root user.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

is_running() {
  [ -n "$PG_BIN" ] && [ -f "$DATA_DIR/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" status >/dev/null 2>&1
}

start() {
  if is_running; then
    echo "$URL"
    return 0
  fi
  mkdir -p "$PG_TEST_DIR"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$PG_TEST_DIR"
  fi
  if [ ! -f "$DATA_DIR/PG_VERSION" ]; then
    as_pg "$PG_BIN/initdb" -D "$DATA_DIR" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
  fi
  # The socket goes into the data dir so no system folder (/var/run/postgresql) is needed.
  if ! as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -l "$LOG_FILE" -w -t 60 start -o \
      "-p $PG_TEST_PORT -k $DATA_DIR -c listen_addresses=127.0.0.1 -c fsync=off \
       -c synchronous_commit=off -c full_page_writes=off" >/dev/null; then
    echo "PostgreSQL failed to start; last lines of $LOG_FILE:" >&2
    tail -n 20 "$LOG_FILE" >&2 || true
    exit 1
  fi
  echo "$URL"
}

stop() {
  if is_running; then
    as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -m fast -w stop >/dev/null
  fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) if is_running; then echo running; else echo stopped; exit 3; fi ;;
  url) echo "$URL" ;;
  *) echo "usage: $0 [start|stop|status|url]" >&2; exit 2 ;;
esac
