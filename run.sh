#!/usr/bin/env bash
# Set up klg in .venv (first time only) and run the daemon on the embedded
# default: Maildir folders in mailboxes/, SQLite in data/. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/setup-venv.sh
exec .venv/bin/klg --config config/klg.toml run "$@"
