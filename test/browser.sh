#!/usr/bin/env bash
# Headless Chromium and a CJK font for the dashboard's browser test.
#   test/browser.sh install   install Debian's chromium and fonts-noto-cjk when missing (as root, or with sudo)
set -euo pipefail
. "$(dirname "$0")/apt.sh"

# fc-list is asked for the family itself (no pipe into grep -q: under
# pipefail a grep that stops at the first match can kill fc-list with SIGPIPE
# and make the check fail even though the font is there).
have() {
  command -v chromium >/dev/null 2>&1 || return 1
  local cjk
  cjk=$(fc-list 'Noto Sans CJK SC' family 2>/dev/null) || return 1
  [ -n "$cjk" ]
}

install() {
  if have; then return 0; fi
  echo "chromium or fonts-noto-cjk is missing: installing Debian's chromium and fonts-noto-cjk" >&2
  apt_install "headless Chromium and a CJK font" chromium fonts-noto-cjk fontconfig
  have || {
    echo "still missing after apt-get install: chromium at $(command -v chromium || echo none)," \
      "Noto Sans CJK SC in fc-list: '$(fc-list 'Noto Sans CJK SC' family 2>&1 || true)'" >&2
    exit 1
  }
}

case "${1:-}" in
  install) install ;;
  *) echo "usage: $0 install" >&2; exit 2 ;;
esac
