#!/usr/bin/env bash
# Creates .venv and installs Mianjing into it (editable), with the test extras when called as `setup.sh test`.
# Run by serve.sh and test.sh (and so by .ci/run). pip runs only when it has something to do: the stamp
# .venv/.mianjing-setup holds the hash of pyproject.toml and the extras it was installed with, and a later run
# with the same hash and no new extras is a no-op. Editing app/ needs no install (editable); editing
# pyproject.toml, or removing the stamp, installs again.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
STAMP=.venv/.mianjing-setup
EXTRAS=""; [ "${1:-}" = "test" ] && EXTRAS="test"
say() { echo "setup: $*"; }
started=$SECONDS
took() { echo "setup: ... done in $((SECONDS - started)) s"; started=$SECONDS; }

if ! "$PY" -c "import ensurepip, venv" 2>/dev/null; then
  # Debian ships venv separately from python3.
  say "installing python3-venv (Debian packages it apart from python3)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
  took
fi

# A .venv whose interpreter no longer runs (python3 upgraded or removed underneath it) is made again.
if [ -e .venv ] && ! .venv/bin/python -c "" 2>/dev/null; then
  say "the interpreter of .venv does not run any more: making .venv again"
  rm -rf .venv
fi
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $("$PY" --version 2>&1) ($(command -v "$PY"))"
  "$PY" -m venv .venv
  took
fi

hash=$(.venv/bin/python -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' pyproject.toml)
stamped_hash=""; stamped_extras=""
if [ -f "$STAMP" ]; then
  stamped_hash=$(sed -n 's/^pyproject_sha256=//p' "$STAMP")
  stamped_extras=$(sed -n 's/^extras=//p' "$STAMP")
fi
# Up to date: the same pyproject.toml, installed with these extras or more ("test" includes the base install).
# The code judge (docs/judge.md): bubblewrap, and numpy in a world-readable folder the sandbox mounts read-only
# (the service's own Python may live where the sandbox's unprivileged uid cannot read). Root puts it under /opt;
# anyone else under the checkout (their sandbox runs as themselves). Without bubblewrap code items stay off.
judge_env() {
  if ! command -v bwrap >/dev/null; then
    say "installing bubblewrap (the code judge's sandbox)"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq bubblewrap >/dev/null; } \
      || say "WARNING: could not install bubblewrap: code questions will be unavailable (503, /readyz says why)"
  fi
  local site numpy_version
  if [ "$(id -u)" -eq 0 ]; then site=/opt/mianjing-judge/site; else site="$PWD/.judge-site"; fi
  numpy_version=$(.venv/bin/python -c 'import numpy; print(numpy.__version__)')
  if [ ! -d "$site/numpy-$numpy_version.dist-info" ]; then
    say "installing numpy $numpy_version for the judge's sandbox into $site"
    rm -rf "$site.new"
    ( umask 022; .venv/bin/python -m pip install -q --target "$site.new" --no-deps --only-binary=:all: \
        --python-version 3.11 "numpy==$numpy_version" ) && rm -rf "$site" && mv "$site.new" "$site"
  fi
}

if [ "$hash" = "$stamped_hash" ] && { [ -z "$EXTRAS" ] || [ "$stamped_extras" = "$EXTRAS" ]; } \
   && [ -x .venv/bin/mianjing ]; then
  say ".venv is up to date (pyproject.toml unchanged${stamped_extras:+, extras: $stamped_extras}): nothing to install"
  judge_env
  exit 0
fi

if [ -z "$stamped_hash" ]; then
  why="no finished install recorded in this .venv"
elif [ "$hash" != "$stamped_hash" ]; then
  why="pyproject.toml changed since the last install"
elif [ "$stamped_extras" != "$EXTRAS" ]; then
  why="the '$EXTRAS' extras are not installed yet"
else
  why="the mianjing command is missing from .venv"
fi
rm -f "$STAMP"  # an install that fails half-way must not leave a stamp saying it is done
say "$why"
say "upgrading pip"
.venv/bin/python -m pip install -q --upgrade pip
took
if [ "$EXTRAS" = "test" ]; then
  # torch is pinned to the CPU build that ships for this platform; an unpinned torch pulls CUDA (GBs).
  say "installing mianjing with its test extras (torch CPU, playwright, schemathesis, ...): minutes on a first run"
  .venv/bin/python -m pip install -q -e '.[test]'
else
  say "installing mianjing and its dependencies: a minute or so on a first run"
  .venv/bin/python -m pip install -q -e .
fi
took
printf 'pyproject_sha256=%s\nextras=%s\n' "$hash" "$EXTRAS" > "$STAMP.tmp" && mv "$STAMP.tmp" "$STAMP"
say "installed; next time nothing is installed until pyproject.toml changes ($STAMP)"
judge_env
