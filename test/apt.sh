# Sourced by test/clickhouse.sh and test/browser.sh.
# apt_install WHAT PKG...: install Debian packages as root (or with sudo),
# waiting up to 5 minutes for another apt that holds the lock.
apt_install() {
  local what=$1; shift
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "not root and no sudo: install $what yourself ($*)" >&2; exit 1
    fi
  fi
  $sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq "$@" >/dev/null
}
