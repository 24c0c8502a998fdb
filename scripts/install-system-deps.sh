#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, when they are missing.
# Idempotent: when every package is present it exits 0 without touching apt,
# so `make test` can call it every time at no cost.
set -euo pipefail

# One Debian package per line; add a line to add a package.
PACKAGES=(
    prometheus # promtool (tests/deploy) and the prometheus server binary
    postgresql # the PostgreSQL store tests: tests/postgres.py starts a throwaway cluster
)

installed() {
    dpkg-query --show --showformat='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed
}

missing=()
for package in "${PACKAGES[@]}"; do
    installed "$package" || missing+=("$package")
done
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive

# Packages like prometheus start their daemon on install. Tests start what they need
# themselves, so deny service starts for the duration (policy-rc.d exit 101 = "not
# allowed"), unless the machine already has its own policy.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    trap '"${sudo[@]}" rm -f "$policy"' EXIT
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
fi

echo "installing Debian packages: ${missing[*]}"
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
