#!/usr/bin/env bash
# Set up everything the tests need and run them (./test.sh --all: the slow ones
# too). As root on Debian it also installs the system packages (Dovecot, Postfix,
# LibreOffice, poppler-utils) when they are missing; otherwise it tells you which
# to install.
set -euo pipefail
cd "$(dirname "$0")"
scripts/system-packages.sh
KLG_EXTRAS=test . scripts/setup-venv.sh
. scripts/setup-eark.sh
# The tests marked slow (long end-to-end runs that repeat a capability a faster
# test goes through, see README "Tests") are left out unless --all is given; an
# -m of your own replaces the default (pytest takes the last -m).
select=(-m "not slow")
args=()
for arg in "$@"; do
  if [ "$arg" = "--all" ]; then select=(); else args+=("$arg"); fi
done
exec .venv/bin/python -m pytest "${select[@]}" "${args[@]}"
