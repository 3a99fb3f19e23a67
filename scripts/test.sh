#!/usr/bin/env bash
# One command: install everything the tests need (PostgreSQL, Chromium, CJK fonts, torch CPU),
# start a throw-away PostgreSQL, run the linter and every test on SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null || need+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -d /usr/share/fonts/opentype/noto ] || need+=(fonts-noto-cjk)
command -v bwrap >/dev/null || need+=(bubblewrap)  # the code judge's sandbox: its escape tests run every time
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

bash scripts/setup.sh test

# A private PostgreSQL cluster on a free port, owned by an unprivileged user (postgres refuses root).
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGDIR=$(mktemp -d /tmp/mianjing-pg.XXXXXX)
PGPORT=${MIANJING_TEST_PGPORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
RUN=()
if [ "$(id -u)" -eq 0 ]; then chown postgres "$PGDIR"; RUN=(runuser -u postgres --); fi
"${RUN[@]}" "$PGBIN/initdb" -D "$PGDIR/data" -U postgres -A trust --no-sync >/dev/null
"${RUN[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
  -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
trap '"${RUN[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1; rm -rf "$PGDIR"' EXIT
export MIANJING_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$PGPORT/postgres"

.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
