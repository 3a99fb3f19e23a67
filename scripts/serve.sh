#!/usr/bin/env bash
# One command: install, migrate the SQLite database, and serve the bundled banks on 127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/mianjing serve "$@"
