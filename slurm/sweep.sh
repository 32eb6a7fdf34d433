#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Run one llm4hep campaign as one Slurm job on NERSC Perlmutter:
#
#   sbatch [-A PROJECT] [-N NODES] [-t TIME] slurm/sweep.sh [OPTIONS] CONFIG [-- SWEEP-ARGS]
#
# One `srun` of `llm4hep sweep CONFIG` over every rank of the allocation
# (--ntasks-per-node ranks on each node; they mostly wait on HTTP). Before it,
# a quick pre-flight: the API key variables the config's endpoints name are
# set (never printed), the results directory is writable, the sandbox Python
# imports the suite's `requires`, every endpoint answers from this node. When
# the time limit nears, Slurm sends SIGUSR1 to this script (--signal=B:...),
# which passes it to the ranks through srun or mpirun (even if it came before
# they started); the campaign drains and exits 4; this script then requeues itself (same job id,
# up to --max-requeues times) and the next run resumes the same results file,
# until `sweep` exits 0. In the debug QOS it never requeues nor resubmits.
#
# OPTIONS (each also as an environment variable):
#   --launcher srun|mpirun  LLM4HEP_LAUNCHER      default srun (MpiDefault picks the MPI plugin;
#                                                 LLM4HEP_SRUN_MPI=pmix overrides it)
#   --max-requeues N        LLM4HEP_MAX_REQUEUES  default 8
#   --restart MODE          LLM4HEP_RESTART       requeue (default), resubmit (a new job that
#                                                 depends on this one; regular QOS only) or none
#   --gpu                   LLM4HEP_GPU=1         GPU nodes: each rank gets one of its node's GPUs
#   --vllm MODEL            LLM4HEP_VLLM_MODEL    serve MODEL with vLLM on the first node and point
#                                                 the config's `local` endpoint at it (implies --gpu)
#   --preflight-only                              run the checks and stop (fine on a login node)
#   --no-preflight
#   -- SWEEP-ARGS           passed to `llm4hep sweep` (--fresh on the first run only)
# Also: LLM4HEP_BIN (else `llm4hep` on PATH, else build/llm4hep of this
# checkout), LLM4HEP_HOME (this checkout, when Slurm cannot tell), LLM4HEP_GRACE
# (the lead of the time-limit signal in seconds, default 300 as --signal below:
# set it when you change --signal; running tasks get it less 15 s, --grace),
# LLM4HEP_PREFLIGHT_TIMEOUT (seconds per endpoint try, default 8), LLM4HEP_VLLM_*
# (see slurm/README.md). Exit codes are those of `llm4hep sweep`: 0 complete,
# 2 bad input, 3 infrastructure, 4 stopped early and resumable.
#
#SBATCH --job-name=llm4hep
#SBATCH --constraint=cpu
#SBATCH --qos=regular
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=32
#SBATCH --time=04:00:00
#SBATCH --signal=B:USR1@300
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=llm4hep-%j.out
set -uo pipefail
L4H_PROG=sweep.sh

# sbatch runs a copy of this file from its spool directory: find the checkout
# through LLM4HEP_HOME, this file's directory (run directly), or the job's
# Command (the path sbatch was given).
find_repo() {
    local here cmd
    if [[ -n ${LLM4HEP_HOME:-} && -f $LLM4HEP_HOME/slurm/lib.sh ]]; then
        printf '%s\n' "$LLM4HEP_HOME"
        return 0
    fi
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    if [[ -f $here/lib.sh ]]; then
        (cd "$here/.." && pwd)
        return 0
    fi
    if [[ -n ${SLURM_JOB_ID:-} ]]; then
        cmd=$(scontrol show job "$SLURM_JOB_ID" 2>/dev/null | sed -n 's/^ *Command=//p' | head -n 1)
        while [[ -n $cmd && ! -f $cmd && $cmd == *' '* ]]; do
            cmd=${cmd% *} # the value is "PATH ARGS...", unquoted
        done
        if [[ -f $cmd && -f $(dirname "$cmd")/lib.sh ]]; then
            (cd "$(dirname "$cmd")/.." && pwd)
            return 0
        fi
    fi
    return 1
}
if ! repo=$(find_repo); then
    echo "sweep.sh: error: cannot find the llm4hep checkout (slurm/lib.sh); set LLM4HEP_HOME" >&2
    exit 3
fi
# shellcheck source=lib.sh
source "$repo/slurm/lib.sh"

usage() {
    sed -n '3,/^#SBATCH/{/^#SBATCH/q;s/^# \{0,1\}//;p}' "$repo/slurm/sweep.sh" >&2
}

# ------------------------------------------------------------------ options
launcher=${LLM4HEP_LAUNCHER:-srun}
max_requeues=${LLM4HEP_MAX_REQUEUES:-8}
restart_mode=${LLM4HEP_RESTART:-requeue}
gpu=${LLM4HEP_GPU:-0}
vllm_model=${LLM4HEP_VLLM_MODEL:-}
preflight=1
preflight_only=0
config=
sweep_args=()
while (($# > 0)); do
    case $1 in
    --launcher)
        launcher=${2:?--launcher needs srun or mpirun}
        shift
        ;;
    --max-requeues)
        max_requeues=${2:?--max-requeues needs a number}
        shift
        ;;
    --restart)
        restart_mode=${2:?--restart needs requeue, resubmit or none}
        shift
        ;;
    --gpu) gpu=1 ;;
    --vllm)
        vllm_model=${2:?--vllm needs a model}
        shift
        ;;
    --preflight-only) preflight_only=1 ;;
    --no-preflight) preflight=0 ;;
    -h | --help)
        usage
        exit 0
        ;;
    --)
        shift
        sweep_args=("$@")
        break
        ;;
    -*) l4h_die 2 "unknown option $1 (see --help)" ;;
    *)
        [[ -z $config ]] || l4h_die 2 "one CONFIG only (got '$config' and '$1'); sweep options go after --"
        config=$1
        ;;
    esac
    shift
done
[[ -n $config ]] || {
    usage
    l4h_die 2 "no CONFIG given"
}
[[ -f $config ]] || l4h_die 2 "config file $config not found (relative paths are from $PWD)"
config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")
[[ $launcher == srun || $launcher == mpirun ]] || l4h_die 2 "--launcher must be srun or mpirun, not '$launcher'"
grace=${LLM4HEP_GRACE:-300}
[[ $grace =~ ^[0-9]+$ ]] || l4h_die 2 "LLM4HEP_GRACE must be a number of seconds, not '$grace'"
[[ $max_requeues =~ ^[0-9]+$ ]] || l4h_die 2 "--max-requeues must be a number, not '$max_requeues'"
[[ $restart_mode =~ ^(requeue|resubmit|none)$ ]] || l4h_die 2 "--restart must be requeue, resubmit or none, not '$restart_mode'"
[[ -n $vllm_model ]] && gpu=1
if [[ -z ${SLURM_JOB_ID:-} ]] && ((!preflight_only)); then
    l4h_die 2 "not inside a Slurm job: submit with 'sbatch slurm/sweep.sh CONFIG' (or run inside salloc; --preflight-only works anywhere)"
fi

restarts=$((${SLURM_RESTART_COUNT:-0} + ${LLM4HEP_RESUBMIT_COUNT:-0}))
qos=
[[ -n ${SLURM_JOB_ID:-} ]] && qos=$(l4h_job_qos)
t_start=$SECONDS
l4h_log "job ${SLURM_JOB_ID:-none} on ${SLURM_JOB_NODELIST:-$(hostname)}: ${SLURM_NTASKS:-?} ranks on ${SLURM_JOB_NUM_NODES:-1} node(s), QOS ${qos:-unknown}, run $((restarts + 1)) (requeues allowed: $max_requeues), launcher $launcher${vllm_model:+, vLLM $vllm_model}$( ((gpu)) && echo ', GPU')"
l4h_log "config $config; checkout $repo"

# ------------------------------------------------------------------ environment
export HDF5_USE_FILE_LOCKING=FALSE  # CFS/DVS has no flock
export OMPI_MCA_mpi_yield_when_idle=1 # Open MPI: waiting ranks yield the core
export CXI_FORK_SAFE=1 CXI_FORK_SAFE_HP=1 # Slingshot: ranks spawn task children
orig_tmpdir=${TMPDIR-} # for a follow-up job (slurmstepd makes the TMPDIR a job inherits)
if [[ -n ${SLURM_JOB_ID:-} ]]; then
    TMPDIR=/tmp/${USER:-$(id -un)}/$SLURM_JOB_ID # node-local scratch; the config's `scratch`
    export TMPDIR
    mkdir -p "$TMPDIR" || l4h_die 3 "cannot create TMPDIR=$TMPDIR"
fi
export L4H_GPU=$gpu

# ------------------------------------------------------------------ cleanup and signals
child=
pending_sig=
ready_dir=
L4H_VLLM_PID=
cleaned=0
cleanup() {
    ((cleaned)) && return 0
    cleaned=1
    l4h_vllm_stop "$L4H_VLLM_PID"
    [[ -n $ready_dir ]] && rm -rf "$ready_dir"
    if [[ -n ${SLURM_JOB_ID:-} && -n ${TMPDIR:-} && $TMPDIR == /tmp/*/"$SLURM_JOB_ID" ]]; then
        if ((${SLURM_JOB_NUM_NODES:-1} > 1)); then
            timeout 60 srun --overlap --nodes="$SLURM_JOB_NUM_NODES" --ntasks-per-node=1 \
                --cpu-bind=none rm -rf "$TMPDIR" >/dev/null 2>&1 || true
        fi
        rm -rf "$TMPDIR"
    fi
}
trap cleanup EXIT
# The time-limit warning (--signal=B:USR1@N) comes to this shell, which
# passes it to the launcher; srun and mpirun pass it to every rank. A rank
# that has not installed its handler yet would die of it, so until every rank
# has said it is ready (a file in $LLM4HEP_READY_DIR, written once its
# handlers are in place) it is kept and passed on once they all are; SIGTERM
# before the ranks run just ends the job.
ranks_ready() {
    local n
    n=$(find "$ready_dir" -maxdepth 1 -name 'rank-*' 2>/dev/null | wc -l)
    ((n >= ${SLURM_NTASKS:-1}))
}
# shellcheck disable=SC2317 # called by the traps below
forward() {
    if [[ -n $child ]] && ranks_ready; then
        l4h_log "got SIG$1: passing it to the ranks (launcher pid $child)"
        kill -s "$1" "$child" 2>/dev/null
    elif [[ -n $child && $1 == USR1 ]]; then
        l4h_log "got SIGUSR1 while the ranks start: passing it to the ranks once they all run"
        pending_sig=USR1
    elif [[ -n $child ]]; then
        l4h_log "got SIG$1 while the ranks start: passing it to the ranks (launcher pid $child)"
        kill -s "$1" "$child" 2>/dev/null
    elif [[ $1 == USR1 ]]; then
        l4h_log "got SIGUSR1 before the ranks started: passing it on once they run"
        pending_sig=USR1
    else
        l4h_log "got SIG$1 before the ranks started: stopping"
        exit 143
    fi
    return 0
}
trap 'forward USR1' USR1
trap 'forward TERM' TERM
trap 'forward INT' INT

# ------------------------------------------------------------------ pre-flight
bin=$(l4h_find_bin "$repo") || l4h_die 3 "no llm4hep binary (set LLM4HEP_BIN)"
if ! sweep_help=$("$bin" sweep --help 2>&1); then
    l4h_die 3 "$bin has no working 'sweep' verb ('$bin sweep --help' failed)"
fi
l4h_log "binary $bin"

info=$(l4h_config_info "$config")
rc=$?
((rc == 0)) || l4h_die "$rc" "cannot read the campaign config $config (message above)"
while IFS= read -r w; do
    [[ -n $w ]] && l4h_warn "$w"
done < <(l4h_info_all "$info" warning)
output=$(l4h_info_get "$info" output)

if [[ -n $vllm_model ]]; then
    vllm_log=$(dirname "$output")/vllm-${SLURM_JOB_ID:-local}.log
    mkdir -p "$(dirname "$output")" 2>/dev/null || true
    l4h_vllm_start "$vllm_model" "$vllm_log" || l4h_die 3 "could not start vLLM"
    l4h_vllm_wait "$L4H_VLLM_URL" "$L4H_VLLM_PID" "$vllm_log" || l4h_die 3 "vLLM did not come up"
    # The config's endpoints were read before LLM4HEP_LOCAL_URL was set.
    info=$(l4h_config_info "$config") || l4h_die 3 "cannot re-read $config"
fi

if ((preflight)); then
    l4h_check_api_keys "$info" || l4h_die 2 "an API key variable is missing (see above)"
    l4h_check_writable "$output" || l4h_die 3 "results file $output cannot be written"
    if [[ -n ${SCRATCH:-} && $output != "$SCRATCH"/* ]]; then
        l4h_warn "results file $output is not on \$SCRATCH ($SCRATCH); NERSC recommends \$SCRATCH for job I/O"
    fi
    mapfile -t requires < <(l4h_info_all "$info" require)
    l4h_check_imports "$(l4h_info_get "$info" python)" "${requires[@]}" ||
        l4h_die 3 "the sandbox Python lacks modules the suite requires"
    l4h_check_endpoints "$info" || l4h_die 3 "an endpoint does not answer (see above); not starting the campaign"
    l4h_log "pre-flight passed in $((SECONDS - t_start)) s"
fi
if ((preflight_only)); then
    exit 0
fi

# ------------------------------------------------------------------ the campaign
mapfile -t cmd < <(l4h_launch_cmd "$launcher" "$gpu" "$([[ -n $vllm_model ]] && echo 1 || echo 0)")
# shellcheck disable=SC2016 # expanded by the rank's bash
cmd+=(bash -c 'source "$1" && shift && l4h_rank_exec "$@"' llm4hep-rank "$repo/slurm/lib.sh"
    "$bin" sweep "$config")
kept_args=() # what a later run passes on
for a in "${sweep_args[@]}"; do
    [[ $a == --fresh ]] || kept_args+=("$a")
    if [[ $a == --fresh ]] && ((restarts > 0)); then
        l4h_log "run $((restarts + 1)): not passing --fresh again (it would discard the runs before)"
        continue
    fi
    cmd+=("$a")
done
# Running tasks get the time-limit signal's lead less a checkpoint margin;
# LLM4HEP_GRACE is that lead (--signal=USR1@300).
if [[ $sweep_help == *--grace* && " ${sweep_args[*]} " != *" --grace "* ]]; then
    cmd+=(--grace "$(l4h_drain_grace "$grace")")
fi
# Where each rank says it is ready for signals (shared by every node: next
# to the results file; a fresh directory for each run of the job).
ready_dir=$(dirname "$output")/.llm4hep-ready-${SLURM_JOB_ID:-local}-$restarts
rm -rf "$ready_dir"
mkdir -p "$ready_dir" || l4h_die 3 "cannot create $ready_dir"
export LLM4HEP_READY_DIR=$ready_dir
l4h_log "running: ${cmd[*]}"
"${cmd[@]}" &
child=$!

# A signal kept while the ranks start is passed on once every rank is ready
# (or, should one never say so, after LLM4HEP_READY_TIMEOUT s: better late
# than never).
ready_deadline=$((SECONDS + ${LLM4HEP_READY_TIMEOUT:-600}))
while :; do
    if [[ -n $pending_sig ]] && { ranks_ready || ((SECONDS >= ready_deadline)); }; then
        ranks_ready || l4h_warn "not every rank said it is ready within ${LLM4HEP_READY_TIMEOUT:-600} s"
        l4h_log "passing the early SIG$pending_sig to the ranks"
        kill -s "$pending_sig" "$child" 2>/dev/null
        pending_sig=
    fi
    if [[ -n $pending_sig ]]; then
        sleep 0.2 & # look again soon: the ranks are starting
        wait $! 2>/dev/null
        rc=0
    else
        wait "$child"
        rc=$?
    fi
    kill -0 "$child" 2>/dev/null || break # else a trap interrupted the wait
done
wait "$child" 2>/dev/null
rc2=$?
((rc2 != 127)) && rc=$rc2
child=
l4h_log "llm4hep sweep exited $rc after $((SECONDS - t_start)) s"

# ------------------------------------------------------------------ what next
decision=$(l4h_restart_decision "$rc" "$qos" "$restarts" "$max_requeues" "$restart_mode")
# resume_hint [SBATCH-OPTION...] : how to go on by hand.
resume_hint() {
    echo "resume with: sbatch ${SLURM_JOB_ACCOUNT:+-A $SLURM_JOB_ACCOUNT }${*:+$* }$repo/slurm/sweep.sh $config"
}
case $decision in
done)
    l4h_log "campaign complete: $output"
    exit 0
    ;;
requeue)
    cleanup
    if scontrol requeue "$SLURM_JOB_ID"; then
        l4h_log "drained; requeued job $SLURM_JOB_ID (run $((restarts + 2)) of at most $((max_requeues + 1))): it resumes $output"
    else
        l4h_warn "scontrol requeue $SLURM_JOB_ID failed; $(resume_hint)"
    fi
    exit 4
    ;;
resubmit)
    cleanup
    mapfile -t opts < <(l4h_resubmit_args)
    next_args=(--max-requeues "$max_requeues" --restart resubmit --launcher "$launcher")
    ((gpu)) && next_args+=(--gpu)
    [[ -n $vllm_model ]] && next_args+=(--vllm "$vllm_model")
    next_args+=("$config")
    ((${#kept_args[@]} > 0)) && next_args+=(-- "${kept_args[@]}")
    if new=$(LLM4HEP_RESUBMIT_COUNT=$((${LLM4HEP_RESUBMIT_COUNT:-0} + 1)) TMPDIR=$orig_tmpdir \
        sbatch --parsable --export=ALL "${opts[@]}" "$repo/slurm/sweep.sh" "${next_args[@]}"); then
        l4h_log "drained; submitted job $new to resume $output after this one"
    else
        l4h_warn "resubmission failed; $(resume_hint)"
    fi
    exit 4
    ;;
stop)
    if [[ $qos == debug* ]]; then
        l4h_log "drained in the debug QOS, which allows no job chaining: not requeued; $(resume_hint -q regular)"
    elif [[ $restart_mode == none ]]; then
        l4h_log "drained; restarts are off (--restart none); $(resume_hint)"
    else
        l4h_log "drained; the requeue cap ($max_requeues) is reached; $(resume_hint)"
    fi
    exit 4
    ;;
*)
    case $rc in
    2) l4h_log "bad input (message above); fix the config and resubmit" ;;
    3) l4h_log "infrastructure failure (message above); $(resume_hint)" ;;
    *) l4h_log "the campaign failed with exit $rc; $(resume_hint)" ;;
    esac
    exit "$rc"
    ;;
esac
