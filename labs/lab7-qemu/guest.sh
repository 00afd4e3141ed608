#!/bin/sh
# Lab 7, step 4 — the commands typed at the guest's shell once the new CPUs are there,
# printed one per line (the grader types them at the guest's console).
# TODO: bring the new CPUs online: they are cpu$CPUS up to cpu$((CPUS + ADD_CPUS - 1))
#       under /sys/devices/system/cpu/ (slide "Hotplug CPU").
