#!/bin/sh
# Lab 7, step 2 — boot the VM (slides "Votre première VM", "Hotplug CPU",
# "Memory Ballooning").
# The grader gives: KERNEL and INITRD (the lab7 guest), DISK, MEMORY, CPUS, MAXCPUS,
# HOST_PORT, GUEST_PORT. It passes options of its own as arguments: keep "$@" last.
#
# TODO: add one option line each, before "$@", for
#   - the guest's RAM: $MEMORY MiB;
#   - $CPUS CPUs at boot, with room to hot-plug CPUs up to $MAXCPUS;
#   - the disk $DISK (qcow2), on virtio;
#   - user networking forwarding host port $HOST_PORT to the guest's port $GUEST_PORT,
#     on a virtio network card (this guest's kernel has no e1000 driver);
#   - a virtio balloon device.
exec qemu-system-x86_64 \
    -nographic \
    -kernel "$KERNEL" -initrd "$INITRD" -append "console=ttyS0" \
    "$@"
