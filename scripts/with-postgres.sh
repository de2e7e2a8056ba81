#!/usr/bin/env bash
# Run a command with TEST_DATABASE_URL pointing at a real PostgreSQL server.
# Uses TEST_DATABASE_URL when it is already set; otherwise starts a throwaway cluster (initdb, fsync off)
# on a free port under var/, and removes it afterwards, whatever the command's result.
set -euo pipefail
if [ -n "${TEST_DATABASE_URL:-}" ]; then exec "$@"; fi

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$PGBIN" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "Installing PostgreSQL for the tests (apt-get install postgresql)..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  else
    echo "PostgreSQL is missing: install it ('sudo apt-get install -y postgresql') or set TEST_DATABASE_URL." >&2
    exit 1
  fi
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
AS=()
if [ "$(id -u)" = "0" ]; then
  # initdb refuses to run as root, so the cluster belongs to the postgres user; its directory lives under /tmp,
  # because the checkout may sit in a directory that user cannot enter (a mktemp -d, a home directory).
  D=$(mktemp -d /tmp/mcqa-pg.XXXXXX)
  chown postgres "$D"
  AS=(su postgres -s /bin/sh -c)
else
  mkdir -p "$ROOT/var"
  D=$(mktemp -d "$ROOT/var/pg.XXXXXX")
fi
run_pg() { if [ ${#AS[@]} -gt 0 ]; then (cd / && "${AS[@]}" "$*"); else sh -c "$*"; fi; }

cleanup() {
  run_pg "$PGBIN/pg_ctl -D $D/data -m immediate stop" >/dev/null 2>&1 || true
  rm -rf "$D"
}
trap cleanup EXIT
run_pg "$PGBIN/initdb -D $D/data -A trust -U postgres" >/dev/null
run_pg "$PGBIN/pg_ctl -D $D/data -o '-p $PORT -k $D -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200' -l $D/log -w start" >/dev/null
export TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
echo "Throwaway PostgreSQL on port $PORT"
"$@"
