#!/usr/bin/env bash
# HyperKitty 1.3.12 in its own venv (bench/.venv-hyperkitty), the peer of bench/import_pace.py.
# Idempotent. HyperKitty needs Django 5 and its own dependencies, kept apart from forumsync's.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-hyperkitty
if [ ! -f "$VENV/.installed-1.3.12" ]; then
  echo "==> Installation de HyperKitty 1.3.12 dans bench/$VENV" >&2
  "${PYTHON:-python3}" -m venv "$VENV"
  "$VENV/bin/pip" install -q 'hyperkitty==1.3.12'
  touch "$VENV/.installed-1.3.12"
fi
