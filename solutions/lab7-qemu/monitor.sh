#!/bin/sh
# Lab 7 reference solution — the monitor commands of each phase, one per line.
case "$1" in
hotplug)
    # The boot CPUs fill cores 0 to CPUS-1 of socket 0 (see `info hotpluggable-cpus`):
    # the new ones go into the next free cores.
    core=$CPUS
    while [ "$core" -lt $((CPUS + ADD_CPUS)) ]; do
        echo "device_add driver=qemu64-x86_64-cpu,socket-id=0,core-id=$core,thread-id=0,id=cpu$core"
        core=$((core + 1))
    done
    ;;
balloon)
    echo "balloon $BALLOON"
    ;;
stop)
    echo "quit"
    ;;
esac
