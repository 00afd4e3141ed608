#!/bin/sh
# Lab 7, step 1 — the VM's disk (slide "Votre première VM").
# The grader gives: DISK (the file to create) and DISK_SIZE (e.g. 192M).
# TODO: create a qcow2 image of $DISK_SIZE at $DISK with qemu-img, then delete the two
#       lines below. Check the result with: qemu-img info "$DISK"
echo "disk.sh: TODO create the disk" >&2
exit 1
