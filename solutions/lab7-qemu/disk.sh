#!/bin/sh
# Lab 7 reference solution — the VM's disk: a qcow2 image of $DISK_SIZE at $DISK.
set -e
qemu-img create -f qcow2 "$DISK" "$DISK_SIZE"
