#!/usr/bin/env bash
# System packages the tests need: Debian's Chromium (Playwright drives it; no browser is downloaded),
# CJK fonts (Chinese pages and PDFs), poppler-utils (PDF checks) and
# dovecot-imapd (a real IMAP server for the email-in tests). Installed once, as root, with apt-get.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
fc-list 2>/dev/null | grep -qi "noto.*cjk" || need+=(fonts-noto-cjk)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
command -v dovecot >/dev/null || need+=(dovecot-imapd)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing system packages: ${need[*]} (run as root, or: sudo apt-get install -y ${need[*]})" >&2
    exit 1
  fi
  echo "installing system packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
