#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the bulk-grading test of the `--slurm`
# path: installs slurm-wlm and munge (Debian 12: Slurm 22.05), writes a minimal
# slurm.conf for one node on localhost with this machine's cores and memory, starts
# munged, slurmctld and slurmd without systemd, and waits until `sinfo` shows the node
# idle. Idempotent: daemons already running are left alone. Run as root.
set -euo pipefail

CONF_DIR=/etc/slurm
SPOOL=/var/spool/slurm
LOGS=/var/log/slurm
RUN=/run/slurm

log() { echo "slurm-setup: $*"; }

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
        return
    fi
    log "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

# A pid file names a live process of that program.
running() {
    local pidfile=$1 name=$2
    [ -s "$pidfile" ] || return 1
    local pid
    pid=$(cat "$pidfile")
    [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$name" ]
}

start_munge() {
    install -d -o munge -g munge -m 0700 /etc/munge
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
    if [ ! -s /etc/munge/munge.key ]; then
        log "creating the munge key"
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
    if ! running /run/munge/munged.pid munged; then
        log "starting munged"
        runuser -u munge -- /usr/sbin/munged
    fi
    munge -n | unmunge >/dev/null
}

# `slurmd -C` prints this machine's node line (CPUs, sockets, cores, RealMemory).
node_line() {
    local host=$1 line
    line=$(slurmd -C | head -n1)
    # Keep a little memory for the daemons themselves.
    local mem
    mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$line")
    line=$(sed "s/RealMemory=[0-9]*/RealMemory=$((mem * 9 / 10))/; s/^NodeName=[^ ]*/NodeName=$host/" <<<"$line")
    echo "$line NodeAddr=127.0.0.1 State=UNKNOWN"
}

write_config() {
    local host=$1
    install -d -m 0755 "$CONF_DIR" "$SPOOL/ctld" "$SPOOL/d" "$LOGS" "$RUN"
    local conf
    conf=$(cat <<EOF
# Written by .ci/slurm-setup.sh: one node, the daemons and jobs as root, no cgroups,
# no accounting database (the grader polls squeue/scontrol, not sacct).
ClusterName=grader-ci
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/d
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
MinJobAge=600
KillWait=10
Waittime=0
MaxArraySize=10001
$(node_line "$host")
PartitionName=grader Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
)
    if [ -f "$CONF_DIR/slurm.conf" ] && [ "$(cat "$CONF_DIR/slurm.conf")" = "$conf" ]; then
        return 1
    fi
    log "writing $CONF_DIR/slurm.conf"
    printf '%s\n' "$conf" >"$CONF_DIR/slurm.conf"
    return 0
}

start_slurm() {
    local changed=$1
    if running "$RUN/slurmctld.pid" slurmctld; then
        [ "$changed" = yes ] && scontrol reconfigure
    else
        log "starting slurmctld"
        slurmctld
    fi
    if ! running "$RUN/slurmd.pid" slurmd; then
        log "starting slurmd"
        slurmd
    fi
}

wait_idle() {
    local host=$1 state=""
    for _ in $(seq 1 60); do
        state=$(sinfo -h -N -n "$host" -o '%t' 2>/dev/null || true)
        case "$state" in
            idle*|mix*|alloc*) log "node $host is $state"; return 0 ;;
            down*|drain*) scontrol update nodename="$host" state=resume 2>/dev/null || true ;;
        esac
        sleep 1
    done
    log "node $host did not become idle (state: ${state:-unknown}); see $LOGS/"
    tail -n 20 "$LOGS/slurmctld.log" "$LOGS/slurmd.log" >&2 || true
    return 1
}

main() {
    if [ "$(id -u)" != 0 ]; then
        echo "slurm-setup: must run as root" >&2
        exit 1
    fi
    install_packages
    start_munge
    local host changed=no
    host=$(hostname -s)
    write_config "$host" && changed=yes
    start_slurm "$changed"
    wait_idle "$host"
}

main "$@"
