#!/usr/bin/env bash
# Install everything the tests need into .venv, then run the linters, the type checker and the tests.
# This is the test command in README.md, and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests run for real, installed when missing (sudo only when not root and it exists).
apt_install() {
    local sudo=""
    if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}
# The HTML report's browser test drives Debian's chromium (never a browser downloaded by playwright).
command -v chromium >/dev/null 2>&1 || apt_install chromium
# promtool checks and unit-tests the generated rules; the integration tests run the real Prometheus server.
{ command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; } || apt_install prometheus
# The experiments' alertmanager_alert probe is tested against the real Alertmanager.
command -v prometheus-alertmanager >/dev/null 2>&1 || apt_install prometheus-alertmanager

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
