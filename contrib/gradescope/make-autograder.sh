#!/usr/bin/env bash
# Makes the zip to upload as a Gradescope "programming assignment" autograder, from a
# checkout of the course on a Debian 12 machine:
#
#   contrib/gradescope/make-autograder.sh lab1 autograder-lab1.zip
#
# The zip holds setup.sh and run_autograder at its root and the course under course/,
# with the guest's Debian packages (vm-images/cache/debs) so Gradescope's Ubuntu image
# can build the guest image without Debian's apt.
set -euo pipefail

LAB=${1:?usage: make-autograder.sh LAB OUT.zip}
OUT=${2:?usage: make-autograder.sh LAB OUT.zip}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac

cd "$ROOT"
# Downloads the guest's packages into vm-images/cache/debs if they are not there yet.
cargo grader image build
cargo grader list | awk -v lab="$LAB" '$1 == lab { found = 1 } END { exit !found }' \
    || { echo "make-autograder: no lab $LAB in this course" >&2; exit 2; }

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/course"
# No reference solution, fixture or history in the zip: the student's code runs in this
# image without the build jail (run_autograder) and could read them.
tar --exclude=./target --exclude=./.git --exclude=./vm-images/cache \
    --exclude=./solutions --exclude=./tests --exclude=./.grader -cf - . | tar -xf - -C "$STAGE/course"
for leak in solutions tests .git; do
    [ ! -e "$STAGE/course/$leak" ] || { echo "make-autograder: $leak/ would leak into the zip" >&2; exit 2; }
done
mkdir -p "$STAGE/course/vm-images/cache"
cp -r vm-images/cache/debs "$STAGE/course/vm-images/cache/"
[ -f vm-images/cache/kernel-package ] && cp vm-images/cache/kernel-package "$STAGE/course/vm-images/cache/"
cp "$HERE/setup.sh" "$HERE/run_autograder" "$STAGE/"
chmod +x "$STAGE/setup.sh" "$STAGE/run_autograder"
echo "$LAB" >"$STAGE/LAB"
# The lab's directory, from its [[lab]] block in course.toml (id comes before dir).
awk -v lab="$LAB" '/^\[\[lab\]\]/ { id = "" } /^id *=/ { gsub(/"/, "", $3); id = $3 }
    /^dir *=/ { gsub(/"/, "", $3); if (id == lab) print $3 }' course.toml >"$STAGE/LAB_DIR"
rm -f "$OUT"
(cd "$STAGE" && zip -qr "$OUT" .)
echo "make-autograder: $OUT ($(du -h "$OUT" | cut -f1)) — upload it as the assignment's autograder"
