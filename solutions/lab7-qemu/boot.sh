#!/bin/sh
# Lab 7 reference solution — the VM: the lab7 guest, console and monitor on stdio
# (-nographic), $MEMORY MiB, $CPUS vCPUs with room for $MAXCPUS, the disk on virtio,
# user networking forwarding host port $HOST_PORT to the guest's $GUEST_PORT on a virtio
# NIC, and a balloon device. "$@" passes the grader's own options on.
exec qemu-system-x86_64 \
    -nographic \
    -m "$MEMORY" \
    -smp "$CPUS,maxcpus=$MAXCPUS" \
    -kernel "$KERNEL" -initrd "$INITRD" -append "console=ttyS0" \
    -drive file="$DISK",format=qcow2,if=virtio \
    -netdev user,id=net0,hostfwd=tcp::"$HOST_PORT"-:"$GUEST_PORT" \
    -device virtio-net-pci,netdev=net0 \
    -device virtio-balloon-pci \
    "$@"
