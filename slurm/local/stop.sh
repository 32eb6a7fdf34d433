#!/usr/bin/env bash
# Stop the private Slurm that slurm/local/start.sh started in DIR, and remove DIR.
#
#   slurm/local/stop.sh [--keep] [DIR]
#
# DIR: the argument, else $LLM4HEP_SLURM_DIR, else the directory of $SLURM_CONF.
# Cancels the cluster's jobs, then stops slurmd, slurmctld and munged by the
# pids in DIR/run/*.pid, and only when the process there really is that daemon
# started for DIR. Step daemons (slurmstepd) still serving DIR and their
# children are killed too. --keep (or LLM4HEP_SLURM_KEEP=1) leaves DIR (logs)
# in place. Idempotent: stopping a stopped or half-started cluster is fine.
set -euo pipefail
L4H_PROG=slurm-local-stop
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
PATH=$PATH:/usr/sbin

keep=${LLM4HEP_SLURM_KEEP:-0}
if [[ ${1:-} == --keep ]]; then
    keep=1
    shift
fi
case ${1:-} in
-h | --help)
    echo "usage: slurm/local/stop.sh [--keep] [DIR]" >&2
    exit 0
    ;;
-*)
    echo "usage: slurm/local/stop.sh [--keep] [DIR]" >&2
    exit 2
    ;;
esac

dir=${1:-${LLM4HEP_SLURM_DIR:-}}
if [[ -z $dir && -n ${SLURM_CONF:-} ]]; then
    dir=$(dirname "$SLURM_CONF")
fi
[[ -n $dir ]] || l4h_die 2 "no directory: give DIR, or set LLM4HEP_SLURM_DIR or SLURM_CONF"
if [[ ! -d $dir ]]; then
    l4h_log "$dir does not exist: nothing to stop"
    exit 0
fi
dir=$(cd "$dir" && pwd)
[[ -e $dir/.llm4hep-slurm ]] || l4h_die 2 "$dir was not made by slurm/local/start.sh; not touching it"
conf=$dir/slurm.conf
export SLURM_CONF=$conf

ctld=$(l4h_pidfile_pid "$dir/run/slurmctld.pid" slurmctld "$dir/") || ctld=
slurmd_pid=$(l4h_pidfile_pid "$dir/run/slurmd.pid" slurmd "$dir/") || slurmd_pid=
munged_pid=$(l4h_pidfile_pid "$dir/run/munged.pid" munged "$dir/") || munged_pid=

# 1. Cancel every job, so Slurm itself ends their processes.
if [[ -n $ctld && -f $conf ]]; then
    mapfile -t jobs < <(squeue -h -o '%A' 2>/dev/null || true)
    if ((${#jobs[@]} > 0)); then
        l4h_log "cancelling jobs: ${jobs[*]}"
        scancel --full "${jobs[@]}" 2>/dev/null || true
        no_jobs() { ! squeue -h -t all -o '%A %T' 2>/dev/null | grep -qvE 'COMPLETED|CANCELLED|FAILED|TIMEOUT|PREEMPTED|NODE_FAIL|BOOT_FAIL|DEADLINE|OUT_OF_MEMORY'; }
        l4h_wait_for 10 no_jobs || l4h_warn "jobs still listed after 10 s; killing their step daemons"
    fi
fi

# 2. Step daemons serving this cluster (they inherit SLURM_CONF from slurmd),
#    and everything they started.
for stat in /proc/[0-9]*/stat; do
    pid=${stat#/proc/}
    pid=${pid%/stat}
    if l4h_pid_is "$pid" slurmstepd "SLURM_CONF=$conf"; then
        mapfile -t kids < <(l4h_descendants "$pid")
        l4h_log "killing leftover slurmstepd $pid and ${#kids[@]} descendants"
        kill -KILL "$pid" "${kids[@]}" 2>/dev/null || true
    fi
done

# 3. The daemons, compute node first.
for entry in "slurmd:$slurmd_pid" "slurmctld:$ctld" "munged:$munged_pid"; do
    name=${entry%%:*}
    pid=${entry#*:}
    [[ -n $pid ]] || continue
    l4h_stop_pid "$pid" 10 || l4h_warn "$name ($pid) did not stop"
    rm -f "$dir/run/$name.pid"
done

if ((keep)); then
    l4h_log "stopped; kept $dir"
else
    rm -rf "$dir"
    l4h_log "stopped; removed $dir"
fi
