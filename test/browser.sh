#!/usr/bin/env bash
# Headless Chromium and a CJK font for the dashboard's browser test.
#   test/browser.sh install   install Debian's chromium and fonts-noto-cjk when missing (as root, or with sudo)
set -euo pipefail
. "$(dirname "$0")/apt.sh"

have() { command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi 'Noto Sans CJK'; }

install() {
  if have; then return 0; fi
  echo "chromium or fonts-noto-cjk is missing: installing Debian's chromium and fonts-noto-cjk" >&2
  apt_install "headless Chromium and a CJK font" chromium fonts-noto-cjk fontconfig
  have || { echo "chromium or the Noto CJK font is still missing after apt-get install" >&2; exit 1; }
}

case "${1:-}" in
  install) install ;;
  *) echo "usage: $0 install" >&2; exit 2 ;;
esac
