# shellcheck shell=bash
# llm4hep shell library: shared by slurm/sweep.sh and slurm/local/*.sh.
#
# Source it; it defines functions (prefix l4h_) and sets nothing else. Every
# function is tested from tests/integration/test_slurm_lib.py by calling it in
# `bash -c 'source slurm/lib.sh; l4h_...'`. Functions return non-zero instead of
# exiting, except l4h_die.

# ---------------------------------------------------------------- messages

l4h_log() { printf '%s: %s\n' "${L4H_PROG:-llm4hep}" "$*" >&2; }
l4h_warn() { printf '%s: warning: %s\n' "${L4H_PROG:-llm4hep}" "$*" >&2; }

# l4h_die CODE MESSAGE... : print "PROG: error: MESSAGE" on stderr, exit CODE.
l4h_die() {
    local code=$1
    shift
    printf '%s: error: %s\n' "${L4H_PROG:-llm4hep}" "$*" >&2
    exit "$code"
}

# ---------------------------------------------------------------- processes

# l4h_wait_for TIMEOUT_S COMMAND... : run COMMAND every 0.1 s until it succeeds
# (return 0) or TIMEOUT_S seconds pass (return 1).
l4h_wait_for() {
    local timeout=$1
    shift
    local deadline=$((${EPOCHREALTIME/./} + timeout * 1000000))
    while :; do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        if ((${EPOCHREALTIME/./} >= deadline)); then
            return 1
        fi
        sleep 0.1
    done
}

# l4h_pidfile_pid PIDFILE COMM [NEEDLE] : print the pid in PIDFILE when that
# process is alive, its name is COMM and (if given) its command line or
# environment contains NEEDLE; else return 1. This is how the local scripts
# make sure they only ever signal daemons they started themselves.
l4h_pidfile_pid() {
    local pidfile=$1 comm=$2 needle=${3:-} pid
    [[ -r $pidfile ]] || return 1
    read -r pid 2>/dev/null <"$pidfile" || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    l4h_pid_is "$pid" "$comm" "$needle" || return 1
    printf '%s\n' "$pid"
}

# l4h_pid_is PID COMM [NEEDLE] : PID is alive, named COMM, and its command
# line or environment mentions NEEDLE.
l4h_pid_is() {
    local pid=$1 comm=$2 needle=${3:-} name
    [[ -d /proc/$pid ]] || return 1
    read -r name 2>/dev/null <"/proc/$pid/comm" || return 1
    [[ $name == "$comm" ]] || return 1
    [[ -z $needle ]] && return 0
    if { tr '\0' '\n' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF -- "$needle"; then
        return 0
    fi
    { tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null | grep -qF -- "$needle"
}

# l4h_stop_pid PID TIMEOUT_S : SIGTERM, wait up to TIMEOUT_S, then SIGKILL.
# Returns 0 once the process is gone.
l4h_stop_pid() {
    local pid=$1 timeout=${2:-10}
    kill -TERM "$pid" 2>/dev/null || return 0
    if l4h_wait_for "$timeout" l4h__gone "$pid"; then
        return 0
    fi
    kill -KILL "$pid" 2>/dev/null || true
    l4h_wait_for 5 l4h__gone "$pid"
}
l4h__gone() {
    local line
    read -r line 2>/dev/null <"/proc/$1/stat" || return 0
    line=${line##*) }
    [[ ${line%% *} == Z ]]
}

# l4h_descendants PID : print every descendant of PID, read from /proc.
l4h_descendants() {
    l4h__ppids | awk -v root="$1" '
        { parent[$1] = $2 }
        END {
            n = 1; queue[1] = root
            for (i = 1; i <= n; i++)
                for (p in parent)
                    if (parent[p] == queue[i]) { queue[++n] = p; print p }
        }'
}
# "pid ppid" for every process; the name in /proc/PID/stat may hold spaces and
# parentheses, so the fields are taken after its last ") ".
l4h__ppids() {
    local s line rest ppid
    for s in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null <"$s" || continue
        rest=${line##*) }
        ppid=${rest#* }
        printf '%s %s\n' "${line%% *}" "${ppid%% *}"
    done
}

# ---------------------------------------------------------------- ports

# l4h_port_free PORT : nothing listens on TCP PORT (any address).
l4h_port_free() {
    local port=$1
    ! ss -Htln 2>/dev/null | awk '{print $4}' | grep -qE "[:.]${port}\$"
}

# l4h_free_ports N [LOW HIGH] : print N distinct TCP ports, free right now,
# chosen at random in [LOW, HIGH] (default 20000-59999).
l4h_free_ports() {
    local n=$1 low=${2:-20000} high=${3:-59999} tries=0 port
    local -a got=()
    while ((${#got[@]} < n)); do
        ((tries++ < 1000)) || return 1
        port=$((low + (RANDOM * 32768 + RANDOM) % (high - low + 1)))
        [[ " ${got[*]} " == *" $port "* ]] && continue
        l4h_port_free "$port" || continue
        got+=("$port")
    done
    printf '%s\n' "${got[@]}"
}

# ---------------------------------------------------------------- locations

# l4h_repo_dir : the llm4hep checkout this library belongs to.
l4h_repo_dir() {
    (cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
}

# l4h_find_bin [REPO] : the llm4hep binary: $LLM4HEP_BIN, else `llm4hep` on
# PATH, else REPO/build/llm4hep. Prints its path, or returns 1 with a message.
l4h_find_bin() {
    local repo=${1:-$(l4h_repo_dir)} p
    if [[ -n ${LLM4HEP_BIN:-} ]]; then
        if [[ -x $LLM4HEP_BIN && ! -d $LLM4HEP_BIN ]]; then
            printf '%s\n' "$LLM4HEP_BIN"
            return 0
        fi
        l4h_warn "LLM4HEP_BIN=$LLM4HEP_BIN is not an executable file"
        return 1
    fi
    if p=$(command -v llm4hep 2>/dev/null) && [[ -n $p ]]; then
        printf '%s\n' "$p"
        return 0
    fi
    if [[ -x $repo/build/llm4hep ]]; then
        printf '%s\n' "$repo/build/llm4hep"
        return 0
    fi
    l4h_warn "llm4hep binary not found: set LLM4HEP_BIN, put llm4hep on PATH, or build $repo/build/llm4hep"
    return 1
}

# l4h_find_python_yaml : a Python that can `import yaml`: $LLM4HEP_PYTHON,
# /usr/bin/python3, then python3 on PATH.
l4h_find_python_yaml() {
    local py
    for py in "${LLM4HEP_PYTHON:-}" /usr/bin/python3 "$(command -v python3 2>/dev/null)"; do
        [[ -n $py && -x $py ]] || continue
        if "$py" -c 'import yaml' >/dev/null 2>&1; then
            printf '%s\n' "$py"
            return 0
        fi
    done
    return 1
}

# ---------------------------------------------------------------- pre-flight

# l4h_config_info CONFIG : run slurm/config_info.py with a Python that has
# PyYAML; its tab-separated lines on stdout (see that file). Returns its exit
# code (2 bad input), or 3 when no Python with PyYAML exists.
l4h_config_info() {
    local config=$1 py
    if ! py=$(l4h_find_python_yaml); then
        l4h_warn "no Python with PyYAML (tried \$LLM4HEP_PYTHON, /usr/bin/python3, python3): cannot read $config"
        return 3
    fi
    "$py" "$(l4h_repo_dir)/slurm/config_info.py" "$config"
}

# l4h_info_get INFO KIND : the first field after KIND in INFO (config_info lines).
l4h_info_get() {
    awk -F '\t' -v k="$2" '$1 == k { print $2; exit }' <<<"$1"
}

# l4h_info_all INFO KIND : every line of KIND, KIND removed (tab-separated).
l4h_info_all() {
    awk -F '\t' -v k="$2" 'BEGIN { OFS = "\t" } $1 == k { $1 = ""; sub(/^\t/, ""); print }' <<<"$1"
}

# l4h_check_api_keys INFO : every HTTP endpoint's api_key_env is set and not
# empty. Names the variable and the endpoint, never prints a value.
l4h_check_api_keys() {
    local info=$1 name url var models bad=0
    while IFS=$'\t' read -r name url var models; do
        [[ -n $name && $var != - ]] || continue
        if [[ -z ${!var:-} ]]; then
            l4h_warn "endpoint '$name' ($url, models: $models) needs \$$var, which is not set in the job's environment; export it before sbatch (sbatch passes the environment on)"
            bad=1
        else
            l4h_log "pre-flight: \$$var is set (endpoint '$name')"
        fi
    done < <(l4h_info_all "$info" endpoint)
    return "$bad"
}

# l4h_check_writable FILE : the directory of FILE exists (made if needed) and
# a file can be created in it.
l4h_check_writable() {
    local dir probe
    dir=$(dirname "$1")
    if ! mkdir -p "$dir" 2>/dev/null; then
        l4h_warn "cannot create the output directory $dir"
        return 1
    fi
    if ! probe=$(mktemp "$dir/.llm4hep-preflight.XXXXXX" 2>/dev/null); then
        l4h_warn "the output directory $dir is not writable"
        return 1
    fi
    rm -f "$probe"
    l4h_log "pre-flight: output directory $dir is writable"
}

# l4h_check_imports PYTHON MODULE... : PYTHON imports every MODULE; names the
# ones it cannot import.
l4h_check_imports() {
    local py=$1 out
    shift
    if [[ ! -x $py ]] && ! command -v "$py" >/dev/null 2>&1; then
        l4h_warn "the sandbox interpreter $py does not exist (sandbox.python in the config)"
        return 1
    fi
    (($# > 0)) || return 0
    if ! out=$("$py" - "$@" 2>&1 <<'PY'
import importlib, sys
bad = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception as exc:  # any failure to import counts
        bad.append("%s (%s: %s)" % (name, type(exc).__name__, exc))
if bad:
    print("; ".join(bad))
    sys.exit(1)
PY
    ); then
        l4h_warn "$py cannot import what the suite requires: $out"
        return 1
    fi
    l4h_log "pre-flight: $py imports $*"
}

# l4h_redact_url URL : URL without user:password@.
l4h_redact_url() { sed -E 's#^([a-zA-Z][a-zA-Z0-9+.-]*://)[^@/]*@#\1#' <<<"$1"; }

# l4h_check_endpoint NAME URL : the endpoint answers HTTP (any status) within
# LLM4HEP_PREFLIGHT_TIMEOUT seconds (default 8) per try, two tries. curl
# honours https_proxy / http_proxy / no_proxy by itself.
l4h_check_endpoint() {
    local name=$1 url=$2 max=${LLM4HEP_PREFLIGHT_TIMEOUT:-8} try code err proxy
    if ! command -v curl >/dev/null 2>&1; then
        l4h_warn "curl not found: endpoint '$name' not checked"
        return 0
    fi
    proxy=${https_proxy:-${HTTPS_PROXY:-${http_proxy:-${HTTP_PROXY:-}}}}
    for try in 1 2; do
        err=$(mktemp)
        code=$(curl -sS -o /dev/null -w '%{http_code} %{time_total}' \
            --connect-timeout "$(((max + 1) / 2))" --max-time "$max" "$url" 2>"$err") || true
        if [[ -n $code && ${code%% *} != 000 ]]; then
            rm -f "$err"
            l4h_log "pre-flight: endpoint '$name' ($url) answered HTTP ${code%% *} in $(printf '%.2f' "${code#* }") s${proxy:+ through proxy $(l4h_redact_url "$proxy")}"
            return 0
        fi
        if ((try == 1)); then
            sleep 1
            rm -f "$err"
        fi
    done
    l4h_warn "endpoint '$name' ($url) does not answer from $(hostname): $(tr '\n' ' ' <"$err")${proxy:+(proxy $(l4h_redact_url "$proxy"))}${proxy:-(no https_proxy set)}"
    rm -f "$err"
    return 1
}

# l4h_check_endpoints INFO : l4h_check_endpoint for every HTTP endpoint.
l4h_check_endpoints() {
    local name url var models bad=0
    while IFS=$'\t' read -r name url var models; do
        [[ -n $name ]] || continue
        l4h_check_endpoint "$name" "$url" || bad=1
    done < <(l4h_info_all "$1" endpoint)
    return "$bad"
}

# ---------------------------------------------------------------- restarts

# l4h_job_qos : the job's QOS: $SLURM_JOB_QOS, else scontrol; empty when
# Slurm does not know (accounting off, as in the private test Slurm).
l4h_job_qos() {
    local q=${SLURM_JOB_QOS:-}
    if [[ -z $q && -n ${SLURM_JOB_ID:-} ]]; then
        q=$(scontrol show job "$SLURM_JOB_ID" 2>/dev/null | grep -o 'QOS=[^ ]*' | head -n 1) || true
        q=${q#QOS=}
    fi
    [[ $q == "(null)" ]] && q=
    printf '%s\n' "$q"
}

# l4h_restart_decision EXIT QOS RESTARTS MAX MODE : what to do after `sweep`
# exited with EXIT. Prints one word: done (0), requeue, resubmit, stop (4
# but no restart allowed: debug QOS, cap reached, or mode none), fail (else).
# MODE is requeue, resubmit or none. Resubmitting is allowed in a regular QOS
# only, or an unknown one (accounting off); never in debug, where NERSC
# forbids job chaining, nor is requeueing.
l4h_restart_decision() {
    local rc=$1 qos=$2 restarts=$3 max=$4 mode=$5
    case $rc in
    0)
        printf '%s\n' 'done'
        return
        ;;
    4) ;;
    *)
        echo fail
        return
        ;;
    esac
    if [[ $qos == debug* || $mode == none ]] || ((restarts >= max)); then
        echo stop
    elif [[ $mode == resubmit ]]; then
        if [[ -z $qos || $qos == regular* ]]; then echo resubmit; else echo stop; fi
    else
        echo requeue
    fi
}

# l4h_resubmit_args : sbatch options that repeat this job's shape for a
# follow-up job (after this one ends): nodes, tasks per node, time, account,
# QOS, constraint, GPUs, name, output (appended), working directory. The
# script's own #SBATCH lines supply the rest (signal, requeue).
l4h_resubmit_args() {
    local show tl feat out tres gpus qos
    show=$(scontrol show job "$SLURM_JOB_ID" 2>/dev/null) || return 1
    field() { grep -o "[[:space:]]$1=[^ ]*" <<<" $show" | head -n 1 | sed "s/^[[:space:]]*$1=//"; }
    tl=$(field TimeLimit)
    feat=$(field Features)
    out=$(field StdOut)
    tres=$(field TresPerNode)
    qos=$(l4h_job_qos)
    printf '%s\n' "--dependency=afterany:$SLURM_JOB_ID" "--job-name=${SLURM_JOB_NAME:-llm4hep}" \
        "--nodes=${SLURM_JOB_NUM_NODES:-1}" "--chdir=${SLURM_SUBMIT_DIR:-$PWD}" "--open-mode=append"
    if [[ -n ${SLURM_NTASKS_PER_NODE:-} ]]; then
        printf '%s\n' "--ntasks-per-node=$SLURM_NTASKS_PER_NODE"
    elif [[ -n ${SLURM_NTASKS:-} ]]; then
        printf '%s\n' "--ntasks=$SLURM_NTASKS"
    fi
    [[ -n $tl && $tl != UNLIMITED ]] && printf '%s\n' "--time=$tl"
    [[ -n ${SLURM_JOB_ACCOUNT:-} ]] && printf '%s\n' "--account=$SLURM_JOB_ACCOUNT"
    [[ -n $qos ]] && printf '%s\n' "--qos=$qos"
    [[ -n $feat && $feat != "(null)" ]] && printf '%s\n' "--constraint=$feat"
    [[ -n $out && $out != "(null)" ]] && printf '%s\n' "--output=$out"
    gpus=$(grep -oE 'gpu(:[a-z0-9_]+)?:[0-9]+' <<<"$tres" | head -n 1 | awk -F: '{print $NF}')
    [[ -n $gpus ]] && printf '%s\n' "--gpus-per-node=$gpus"
    return 0
}

# l4h_drain_grace LEAD_S : the seconds `llm4hep sweep --grace` gives running
# tasks after the time-limit signal, when Slurm sends it LEAD_S seconds before
# the end (--signal=USR1@LEAD_S): LEAD_S less 15 s for the final checkpoint.
# Slurm checks time limits on a 30 s tick: the signal comes up to a tick early
# (measured: never late), and the time-limit kill lands on a tick too.
l4h_drain_grace() {
    local lead=$1 g
    if ((lead >= 30)); then
        g=$((lead - 15))
    else
        g=$((lead / 2))
    fi
    ((g < 5)) && g=5
    printf '%s\n' "$g"
}

# ---------------------------------------------------------------- launch

# l4h_launch_cmd LAUNCHER GPU VLLM : the launcher part of the command line,
# one word a line: `srun ...` (Slurm's MpiDefault decides the MPI plugin,
# LLM4HEP_SRUN_MPI overrides it) or `mpirun -np N` (N = SLURM_NTASKS). Ranks
# are not bound to cores (--cpu-bind=none): they mostly wait on HTTP, and the
# code they run should use the whole node.
l4h_launch_cmd() {
    local launcher=$1 gpu=${2:-0} vllm=${3:-0}
    case $launcher in
    srun)
        printf '%s\n' srun --cpu-bind=none
        [[ -n ${LLM4HEP_SRUN_MPI:-} ]] && printf '%s\n' "--mpi=$LLM4HEP_SRUN_MPI"
        ((gpu)) && printf '%s\n' --gpu-bind=none
        ((vllm)) && printf '%s\n' --overlap
        return 0
        ;;
    mpirun)
        printf '%s\n' mpirun -np "${SLURM_NTASKS:-1}"
        ;;
    *)
        l4h_warn "unknown launcher '$launcher' (srun or mpirun)"
        return 1
        ;;
    esac
}

# l4h_rank_exec COMMAND... : run on every rank before the program: make the
# node-local $TMPDIR, give the rank one GPU (round robin over the node's GPUs)
# when L4H_GPU=1, then exec COMMAND.
l4h_rank_exec() {
    local n localid
    mkdir -p "${TMPDIR:-/tmp}"
    if [[ ${L4H_GPU:-0} == 1 ]]; then
        n=$(l4h_gpu_count)
        # mpirun's own variables first: under mpirun, SLURM_LOCALID is the
        # batch shell's (0) for every rank.
        localid=${OMPI_COMM_WORLD_LOCAL_RANK:-${MPI_LOCALRANKID:-${SLURM_LOCALID:-0}}}
        if ((n > 0)); then
            CUDA_VISIBLE_DEVICES=$(l4h_gpu_for_rank "$localid" "$n" "${CUDA_VISIBLE_DEVICES:-}")
            export CUDA_VISIBLE_DEVICES
        fi
    fi
    exec "$@"
}

# ---------------------------------------------------------------- GPU

# l4h_gpu_count : GPUs visible on this node: CUDA_VISIBLE_DEVICES, else
# SLURM_GPUS_ON_NODE, else `nvidia-smi -L`, else 0.
l4h_gpu_count() {
    local n
    if [[ -n ${CUDA_VISIBLE_DEVICES:-} && $CUDA_VISIBLE_DEVICES != NoDevFiles ]]; then
        n=$(tr ',' '\n' <<<"$CUDA_VISIBLE_DEVICES" | grep -c .)
    elif [[ ${SLURM_GPUS_ON_NODE:-} =~ ^[0-9]+$ ]]; then
        n=$SLURM_GPUS_ON_NODE
    elif command -v nvidia-smi >/dev/null 2>&1; then
        n=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU') || n=0
    else
        n=0
    fi
    printf '%s\n' "$n"
}

# l4h_gpu_for_rank LOCALID N [VISIBLE] : the CUDA_VISIBLE_DEVICES value for a
# rank: element LOCALID mod N of VISIBLE (comma-separated) or LOCALID mod N.
l4h_gpu_for_rank() {
    local id=$1 n=$2 visible=${3:-}
    local -a devs
    if [[ -n $visible ]]; then
        IFS=, read -r -a devs <<<"$visible"
        n=${#devs[@]}
        printf '%s\n' "${devs[id % n]}"
    else
        printf '%s\n' "$((id % n))"
    fi
}

# ---------------------------------------------------------------- vLLM

# l4h_vllm_cmd MODEL PORT TP : the server command, one word a line:
# ${LLM4HEP_VLLM_BIN:-vllm} serve MODEL --host 0.0.0.0 --port PORT
# --tensor-parallel-size TP, then the words of LLM4HEP_VLLM_ARGS.
l4h_vllm_cmd() {
    local model=$1 port=$2 tp=$3
    local -a extra=()
    read -r -a extra <<<"${LLM4HEP_VLLM_ARGS:-}"
    printf '%s\n' "${LLM4HEP_VLLM_BIN:-vllm}" serve "$model" --host 0.0.0.0 --port "$port" \
        --tensor-parallel-size "$tp" "${extra[@]}"
}

# l4h_vllm_start MODEL LOG : start a vLLM server for MODEL on this (the first)
# node, in the background, logging to LOG; sets L4H_VLLM_PID and
# L4H_VLLM_URL (http://HOST:PORT/v1) and exports LLM4HEP_LOCAL_URL, which
# the campaign config uses as its `local` endpoint's base_url. Under Slurm
# (and unless LLM4HEP_VLLM_SRUN=0) the server runs as its own job step on
# LLM4HEP_VLLM_GPUS GPUs (default 4, one Perlmutter GPU node). The server
# ignores SIGUSR1, so the time-limit warning drains the campaign but not it.
l4h_vllm_start() {
    local model=$1 log=$2 port host gpus=${LLM4HEP_VLLM_GPUS:-4} tp
    local -a cmd launch=()
    port=${LLM4HEP_VLLM_PORT:-$(l4h_free_ports 1 8100 8999)} || return 1
    host=${LLM4HEP_VLLM_HOST:-$(hostname)}
    if ! getent hosts "$host" >/dev/null 2>&1; then
        l4h_warn "host name $host does not resolve; the vLLM URL uses 127.0.0.1 (single node only; set LLM4HEP_VLLM_HOST)"
        host=127.0.0.1
    fi
    tp=${LLM4HEP_VLLM_TP:-$((gpus > 0 ? gpus : 1))}
    mapfile -t cmd < <(l4h_vllm_cmd "$model" "$port" "$tp")
    if [[ -n ${SLURM_JOB_ID:-} && ${LLM4HEP_VLLM_SRUN:-1} != 0 ]]; then
        launch=(srun --overlap --nodes=1 --ntasks=1 --nodelist="$(hostname)" --cpu-bind=none)
        ((gpus > 0)) && launch+=("--gpus-per-node=$gpus" --gpu-bind=none)
    fi
    l4h_log "starting vLLM: ${launch[*]} ${cmd[*]} (log: $log)"
    # setsid: own process group, so l4h_vllm_stop can end all of it.
    setsid "${launch[@]}" bash -c 'trap "" USR1; exec "$@"' vllm-server "${cmd[@]}" >"$log" 2>&1 &
    # shellcheck disable=SC2034 # L4H_VLLM_PID and L4H_VLLM_URL are for the caller
    L4H_VLLM_PID=$!
    L4H_VLLM_URL=http://$host:$port/v1
    LLM4HEP_LOCAL_URL=$L4H_VLLM_URL
    export LLM4HEP_LOCAL_URL
}

# l4h_vllm_wait URL PID LOG [TIMEOUT_S] : wait until URL/models answers 200
# (default LLM4HEP_VLLM_START_TIMEOUT or 900 s: loading weights is slow).
# Fails at once if the server process PID ends, showing the end of LOG.
l4h_vllm_wait() {
    local url=$1 pid=$2 log=$3 timeout=${4:-${LLM4HEP_VLLM_START_TIMEOUT:-900}}
    local deadline=$((SECONDS + timeout)) code
    while :; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url/models" 2>/dev/null) || true
        if [[ $code == 200 ]]; then
            l4h_log "vLLM answers at $url after $((SECONDS + timeout - deadline)) s"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            l4h_warn "the vLLM server exited before answering; end of $log:"
            tail -n 20 "$log" >&2
            return 1
        fi
        if ((SECONDS >= deadline)); then
            l4h_warn "vLLM does not answer at $url after $timeout s; end of $log:"
            tail -n 20 "$log" >&2
            return 1
        fi
        sleep 1
    done
}

# l4h_vllm_stop PID : end the server (its whole process group).
l4h_vllm_stop() {
    local pid=$1
    [[ -n $pid ]] || return 0
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
    if ! l4h_wait_for 20 l4h__gone "$pid"; then
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}
