#!/usr/bin/env bash
# Installs what Tiltas needs on Debian (run as root): system packages and the Python
# environment in .venv. With --test, also what the test suite needs (PostgreSQL, SoftHSM2...).
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  python3 python3-venv python3-dev python3-uno build-essential
  redis-server
  libreoffice-writer-nogui
  fonts-noto-core fonts-dejavu-core fonts-liberation2
  poppler-utils qpdf procps
)
if [[ "${1:-}" == "--test" ]]; then
  # chromium: Debian's, driven by Playwright in tests/web (Playwright downloads no browser).
  packages+=(postgresql softhsm2 opensc chromium)
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Debian's own interpreter: LibreOffice's UNO bridge (python3-uno) imports only there.
if [[ ! -x .venv/bin/python ]]; then
  /usr/bin/python3 -m venv --system-site-packages .venv
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [[ ! -e "$stamp" ]]; then
  .venv/bin/pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/pip install -q --disable-pip-version-check -e ".[dev]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
