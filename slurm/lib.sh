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

# l4h_now_s : seconds since the epoch with decimals (bash 5 EPOCHREALTIME).
l4h_now_s() { printf '%s\n' "${EPOCHREALTIME:-$(date +%s)}"; }

# l4h_wait_for TIMEOUT_S COMMAND... : run COMMAND every 0.1 s until it succeeds
# (return 0) or TIMEOUT_S seconds pass (return 1).
l4h_wait_for() {
    local timeout=$1
    shift
    local deadline=$((SECONDS + timeout))
    while :; do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        if ((SECONDS >= deadline)); then
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
    read -r pid <"$pidfile" 2>/dev/null || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    l4h_pid_is "$pid" "$comm" "$needle" || return 1
    printf '%s\n' "$pid"
}

# l4h_pid_is PID COMM [NEEDLE] : PID is alive, named COMM, and its command
# line or environment mentions NEEDLE.
l4h_pid_is() {
    local pid=$1 comm=$2 needle=${3:-} name
    [[ -d /proc/$pid ]] || return 1
    read -r name <"/proc/$pid/comm" 2>/dev/null || return 1
    [[ $name == "$comm" ]] || return 1
    [[ -z $needle ]] && return 0
    if tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$needle"; then
        return 0
    fi
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qF -- "$needle"
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
l4h__gone() { [[ ! -d /proc/$1 ]] || [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == Z ]]; }

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
        read -r line <"$s" 2>/dev/null || continue
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
