#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu): it
# installs QEMU, the C toolchain and Rust, builds the grader, and builds the guest image
# from the Debian packages shipped in the zip (course/vm-images/cache/debs), since an
# Ubuntu machine cannot `apt-get download` Debian's.
set -euo pipefail

COURSE=/autograder/source/course
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    qemu-system-x86 qemu-utils gcc make libc6-dev ca-certificates curl bubblewrap util-linux >/dev/null

if ! command -v cargo >/dev/null && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
fi
export PATH="$HOME/.cargo/bin:$PATH"

chmod +x /autograder/source/run_autograder
cd "$COURSE"
cargo grader doctor || true
# Builds the grader (release), the static in-guest agent and the guest image, so that
# grading a submission only compiles the student's code and boots the guest.
cargo grader image build
