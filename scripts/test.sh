#!/usr/bin/env bash
# Install everything the tests need into .venv, then run the linters, the type checker and the tests.
# This is the test command in README.md, and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

# The integration tests run the real Prometheus server (Debian's package); install it when missing.
command -v prometheus >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus; }

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
