#!/usr/bin/env bash
# Set up everything the tests need and run them. As root on Debian it also
# installs the system packages (Dovecot, Postfix, LibreOffice, poppler-utils)
# when they are missing; otherwise it tells you which to install.
set -euo pipefail
cd "$(dirname "$0")"
scripts/system-packages.sh
KLG_EXTRAS=test . scripts/setup-venv.sh
. scripts/setup-eark.sh
exec .venv/bin/python -m pytest "$@"
