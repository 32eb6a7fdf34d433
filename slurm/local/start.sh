#!/usr/bin/env bash
# Start a private single-node Slurm (munged, slurmctld, slurmd) for tests.
#
#   eval "$(slurm/local/start.sh [DIR])"     # prints: export SLURM_CONF=DIR/slurm.conf ...
#   sbatch --wait -n 4 job.sh
#   slurm/local/stop.sh DIR
#
# DIR: the argument, else $LLM4HEP_SLURM_DIR, else a new /tmp/llm4hep-slurm-XXXXXX.
# Everything (config, munge key and socket, state, spool, logs, pid files) lives
# in DIR; the ports are free ones picked at start. The node declares
# Feature=cpu and $LLM4HEP_SLURM_CPUS CPUs (default 64, more than the machine
# has, through SlurmdParameters=config_overrides) so `sbatch -n 16` runs on a
# 2-core machine, and with accounting off Perlmutter's `-C cpu -q regular -A x`
# are accepted as they are.
#
# Idempotent: when DIR already holds a running cluster that answers, it only
# prints the environment again. Only stdout carries the `export` lines;
# progress and errors go to stderr. Exit 0 on success, 3 when a daemon cannot
# be started (its log is shown), 2 on bad usage.
set -euo pipefail
L4H_PROG=slurm-local-start
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

usage() {
    cat >&2 <<'EOF'
usage: slurm/local/start.sh [DIR]
  env: LLM4HEP_SLURM_DIR (DIR), LLM4HEP_SLURM_CPUS (default 64),
       LLM4HEP_SLURM_TIMEOUT (seconds to wait for the node, default 30)
EOF
}

case ${1:-} in
-h | --help)
    usage
    exit 0
    ;;
-*)
    usage
    exit 2
    ;;
esac
(($# <= 1)) || {
    usage
    exit 2
}

cpus=${LLM4HEP_SLURM_CPUS:-64}
timeout=${LLM4HEP_SLURM_TIMEOUT:-30}
[[ $cpus =~ ^[1-9][0-9]*$ ]] || l4h_die 2 "LLM4HEP_SLURM_CPUS must be a positive integer, got '$cpus'"
[[ $timeout =~ ^[1-9][0-9]*$ ]] || l4h_die 2 "LLM4HEP_SLURM_TIMEOUT must be a positive integer, got '$timeout'"

for tool in munged slurmctld slurmd sinfo scontrol ss; do
    command -v "$tool" >/dev/null 2>&1 || [[ -x /usr/sbin/$tool ]] ||
        l4h_die 3 "$tool not found (Debian packages: munge slurmctld slurmd slurm-client iproute2)"
done
PATH=$PATH:/usr/sbin

dir=${1:-${LLM4HEP_SLURM_DIR:-}}
if [[ -z $dir ]]; then
    dir=$(mktemp -d /tmp/llm4hep-slurm-XXXXXX)
    touch "$dir/.llm4hep-slurm"
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
conf=$dir/slurm.conf
if [[ -n $(ls -A "$dir") && ! -e $dir/.llm4hep-slurm ]]; then
    l4h_die 2 "$dir is not empty and was not made by slurm/local/start.sh; give an empty or new directory"
fi
touch "$dir/.llm4hep-slurm"
# munged serves its socket only when every directory above it is searchable
# by all (pytest's and mktemp's directories are mode 0700).
d=$dir
while [[ $d != / ]]; do
    d=$(dirname "$d")
    if [[ $(stat -c %A "$d") != ?????????[xt] ]]; then
        l4h_die 2 "munged needs every directory above $dir to be searchable by all (o+x), and $d is mode $(stat -c %a "$d"); choose a directory under /tmp, or leave DIR out"
    fi
done

print_env() {
    cat <<EOF
export SLURM_CONF=$conf
export LLM4HEP_SLURM_DIR=$dir
EOF
}

running() {
    l4h_pidfile_pid "$dir/run/munged.pid" munged "$dir/" >/dev/null &&
        l4h_pidfile_pid "$dir/run/slurmctld.pid" slurmctld "$dir/" >/dev/null &&
        l4h_pidfile_pid "$dir/run/slurmd.pid" slurmd "$dir/" >/dev/null
}

node_ready() {
    local state
    state=$(SLURM_CONF=$conf sinfo -h -n "$node" -o '%T' 2>/dev/null) || return 1
    [[ $state == idle || $state == mixed || $state == allocated ]]
}

show_log() {
    local f=$dir/log/$1.log
    [[ -s $f ]] || return 0
    l4h_log "last lines of $f:"
    tail -n 15 "$f" >&2
}

fail() {
    local daemon=$1
    shift
    l4h_log "$*"
    show_log "$daemon"
    "$(dirname "${BASH_SOURCE[0]}")/stop.sh" --keep "$dir" >&2 || true
    l4h_die 3 "$*; logs kept in $dir/log"
}

node=$(hostname -s)
if [[ -f $conf ]] && running && node_ready; then
    l4h_log "already running in $dir"
    print_env
    exit 0
fi
if [[ -f $conf ]]; then
    l4h_log "stale or partial cluster in $dir: stopping what is left of it first"
    "$(dirname "${BASH_SOURCE[0]}")/stop.sh" --keep "$dir" >&2 || true
fi

uid=$(id -u)
user=$(id -un)
((uid == 0)) || l4h_warn "not root: slurmd can only run jobs as $user; this is tested as root only"

mkdir -p "$dir/run" "$dir/log" "$dir/state" "$dir/spool" "$dir/munge"
# munged wants its key in a private (0700) directory, but refuses a socket
# directory of mode 0700: clients must reach the socket.
chmod 0700 "$dir/munge"
chmod 0755 "$dir" "$dir/run" "$dir/log"
if [[ ! -s $dir/munge/munge.key ]]; then
    (umask 077 && dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none)
fi
chmod 0400 "$dir/munge/munge.key"
rm -f "$dir"/run/*.pid "$dir/run/munge.socket" "$dir/run/munge.socket.lock"

attempt=0
while :; do
    attempt=$((attempt + 1))
    mapfile -t ports < <(l4h_free_ports 2)
    ((${#ports[@]} == 2)) || l4h_die 3 "could not find two free TCP ports"
    first_job_id=$((ports[0] * 1000))
    cat >"$conf" <<EOF
# Private single-node Slurm written by slurm/local/start.sh; stop with slurm/local/stop.sh $dir
ClusterName=llm4hep
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=${ports[0]}
SlurmdPort=${ports[1]}
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/run/munge.socket,cred_expire=${LLM4HEP_SLURM_CRED_EXPIRE:-10}
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$dir/plugstack.conf
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=${LLM4HEP_SLURM_TASK_PLUGIN:-task/affinity}
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_interval=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
# Job ids in a range of this cluster's own (from its port): two private
# clusters on one machine never share a job id, so never a TMPDIR
# (/tmp/\$USER/\$SLURM_JOB_ID) nor a PMIx directory (/tmp/spmix_appdir_UID_JOB.STEP).
FirstJobId=$first_job_id
MailProg=/bin/true
InactiveLimit=0
KillWait=5
MinJobAge=60
Waittime=0
NodeName=$node NodeAddr=127.0.0.1 NodeHostname=$node CPUs=$cpus Boards=1 SocketsPerBoard=1 CoresPerSocket=$cpus ThreadsPerCore=1 Feature=cpu State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
    : >"$dir/plugstack.conf"
    export SLURM_CONF=$conf

    if ! l4h_pidfile_pid "$dir/run/munged.pid" munged "$dir/" >/dev/null; then
        munged --socket="$dir/run/munge.socket" --key-file="$dir/munge/munge.key" \
            --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" \
            --seed-file="$dir/munge/munged.seed" ||
            fail munged "munged did not start"
        l4h_wait_for 10 test -S "$dir/run/munge.socket" || fail munged "munged made no socket in 10 s"
    fi

    slurmctld -i ||
        fail slurmctld "slurmctld did not start"
    if ! l4h_wait_for 10 scontrol ping; then
        if ((attempt < 3)) && grep -q 'Address already in use' "$dir/log/slurmctld.log" 2>/dev/null; then
            l4h_log "port taken meanwhile; trying other ports"
            "$(dirname "${BASH_SOURCE[0]}")/stop.sh" --keep "$dir" >&2 || true
            continue
        fi
        fail slurmctld "slurmctld does not answer 'scontrol ping' after 10 s"
    fi
    slurmd -N "$node" || fail slurmd "slurmd did not start"
    if ! l4h_wait_for "$timeout" node_ready; then
        if ((attempt < 3)) && grep -q 'Address already in use' "$dir/log/slurmd.log" 2>/dev/null; then
            l4h_log "port taken meanwhile; trying other ports"
            "$(dirname "${BASH_SOURCE[0]}")/stop.sh" --keep "$dir" >&2 || true
            continue
        fi
        fail slurmd "node $node not idle after $timeout s (state: $(sinfo -h -n "$node" -o %T 2>&1 || true))"
    fi
    break
done

print_env >"$dir/env"
l4h_log "running in $dir (ports ${ports[0]}, ${ports[1]}; node $node, $cpus CPUs, Feature=cpu)"
print_env
