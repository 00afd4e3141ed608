#!/usr/bin/env bash
# Installs what grading needs on a fresh Debian 12 machine (run as root, or with sudo).
# The guest's own packages (kernel, busybox, libc, coreutils) are fetched later by
# `cargo grader image build` with `apt-get download`, which needs the apt lists below.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# qemu-utils is pinned to bookworm's: a newer backport on the machine conflicts with
# bookworm's qemu-system-x86 and the install would otherwise remove qemu-img.
# bubblewrap is the build jail (every build step a submission controls runs in it, and
# so does --backend local); util-linux's prlimit sets the jail's limits. Headless
# Chromium (and a font for its screenshots) is the dashboard's browser test.
$SUDO apt-get install -y -qq --no-install-recommends --allow-downgrades \
    qemu-system-x86 qemu-utils/bookworm gcc make libc6-dev ca-certificates \
    bubblewrap util-linux chromium chromium-driver fonts-dejavu-core zip unzip >/dev/null
command -v cargo >/dev/null || { echo "setup: cargo is missing: install Rust (rustup) first" >&2; exit 1; }
echo "setup: qemu $(qemu-system-x86_64 --version | head -n1 | awk '{print $4}'), gcc, make, $(bwrap --version) ready"
