#!/bin/sh
# Lab 7, step 3 — the monitor commands of one phase ($1), printed one per line. The
# grader types them at QEMU's monitor (Ctrl-a c), as you would. Try it:
#   CPUS=1 ADD_CPUS=2 BALLOON=160 sh monitor.sh hotplug
case "$1" in
hotplug)
    # TODO: add $ADD_CPUS CPUs to the $CPUS the VM booted with. `cpu-add` no longer
    #       exists: see the README (device_add, info hotpluggable-cpus).
    ;;
balloon)
    # TODO: shrink the guest to $BALLOON MiB.
    ;;
stop)
    # TODO: stop the VM (QEMU must exit).
    ;;
esac
