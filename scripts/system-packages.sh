#!/usr/bin/env bash
# The Debian packages the tests use. Installs them when running as root with
# apt-get; otherwise lists what is missing and exits 1. python3-uno lets
# LibreOffice's own Python (/usr/bin/python3) run klg's long-lived converter
# (daemon/unolistener.py); without it every conversion starts soffice anew.
set -euo pipefail
PACKAGES="dovecot-imapd dovecot-lmtpd postfix libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui python3-uno poppler-utils fonts-dejavu fonts-liberation2 openssl systemd"
missing=$(for p in $PACKAGES; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"; done)
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing system packages: $missing"
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing >/dev/null
else
  echo "Missing system packages: $missing" >&2
  echo "Install them with: sudo apt-get install $missing" >&2
  exit 1
fi
