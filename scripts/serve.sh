#!/usr/bin/env bash
# One command: install (only when pyproject.toml changed: scripts/setup.sh), migrate the SQLite database, and
# serve the bundled banks on 127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# This checkout's content/ is the source of truth: a restart after editing a bank publishes it.
export MIANJING_PUBLISH_ON_START="${MIANJING_PUBLISH_ON_START:-true}"
echo "serve: starting mianjing serve (checks the banks, brings the database to head, then serves)"
exec .venv/bin/mianjing serve "$@"
