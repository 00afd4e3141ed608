#!/bin/sh
# Lab 7 reference solution — typed at the guest's shell after the hotplug: the new CPUs
# are cpuCPUS … cpu(CPUS+ADD_CPUS-1), offline until told otherwise (no udev here).
cpu=$CPUS
while [ "$cpu" -lt $((CPUS + ADD_CPUS)) ]; do
    echo "echo 1 > /sys/devices/system/cpu/cpu$cpu/online"
    cpu=$((cpu + 1))
done
