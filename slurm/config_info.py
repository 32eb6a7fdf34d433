#!/usr/bin/env python3
"""What slurm/sweep.sh's pre-flight needs to know about a campaign config.

    config_info.py CONFIG

Prints tab-separated lines on stdout (values never hold tabs or newlines):

    output    <absolute path of the results file>
    scratch   <scratch root, expanded>
    python    <sandbox.python, default /usr/bin/python3>
    suite     <absolute path of the suite file>
    require   <Python module the suite requires>            (one line each)
    endpoint  <name> <base_url> <api_key_env or -> <models>  (HTTP endpoints in use)
    warning   <text>

Only endpoints that a listed model uses and that speak HTTP (they have a
base_url; `scripted` and `replay` do not) are listed. ${VAR} and
${VAR:-default} are expanded as llm4hep does, and paths resolve relative to the
file that names them. The API key itself is never read or printed, only the
name of its variable. Exit 2 with "FILE:LINE:COLUMN: message" on bad input.

Kept to Python 3.6 and PyYAML, so the system Python of a login or compute node
can run it.
"""
import os
import re
import sys

try:
    import yaml
except ImportError:  # pragma: no cover - reported by the caller
    sys.stderr.write("config_info.py: PyYAML is not installed for %s\n" % sys.executable)
    sys.exit(3)

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
WARNINGS = []


def expand(value):
    """Expand ${VAR} and ${VAR:-default} in every string inside value."""
    if isinstance(value, str):
        def sub(m):
            name, default = m.group(1), m.group(2)
            got = os.environ.get(name)
            if got is None or (got == "" and default is not None):
                if default is None:
                    WARNINGS.append("${%s} is not set; expanded to an empty string" % name)
                    return ""
                return default
            return got
        return _VAR.sub(sub, value)
    if isinstance(value, list):
        return [expand(v) for v in value]
    if isinstance(value, dict):
        return {k: expand(v) for k, v in value.items()}
    return value


def fail(path, exc_or_msg):
    mark = getattr(exc_or_msg, "problem_mark", None)
    if mark is not None:
        msg = "%s:%d:%d: %s" % (path, mark.line + 1, mark.column + 1,
                                getattr(exc_or_msg, "problem", None) or exc_or_msg)
    else:
        msg = "%s: %s" % (path, exc_or_msg)
    sys.stderr.write(msg + "\n")
    sys.exit(2)


def load(path):
    try:
        with open(path) as fh:
            data = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        fail(path, exc)
    except OSError as exc:
        fail(path, exc.strerror or str(exc))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        fail(path, "expected a mapping at the top level")
    return expand(data)


def resolve(base_dir, path):
    path = os.path.expanduser(str(path))
    return os.path.normpath(path if os.path.isabs(path) else os.path.join(base_dir, path))


def read_names(path):
    names = []
    try:
        with open(path) as fh:
            for line in fh:
                line = line.split("#", 1)[0].strip()
                if line:
                    names.append(line)
    except OSError as exc:
        WARNINGS.append("cannot read %s: %s" % (path, exc.strerror or exc))
    return names


def models_of(cfg, cfg_dir):
    names = []
    for m in cfg.get("models") or []:
        names.append(str(m))
    for p in cfg.get("pairs") or []:
        if isinstance(p, dict):
            names.extend(str(p[k]) for k in ("supervisor", "coder") if p.get(k))
    for key in ("models_file", "supervisors_file", "coders_file"):
        if cfg.get(key):
            names.extend(read_names(resolve(cfg_dir, cfg[key])))
    seen, out = set(), []
    for n in names:
        if n not in seen:
            seen.add(n)
            out.append(n)
    return out


def clean(value):
    return re.sub(r"[\t\r\n]+", " ", str(value))


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        sys.stderr.write("usage: config_info.py CONFIG\n")
        return 2
    cfg_path = os.path.abspath(argv[1])
    cfg = load(cfg_path)
    cfg_dir = os.path.dirname(cfg_path)
    lines = []

    if not cfg.get("output"):
        fail(cfg_path, "no 'output' key (the results file)")
    lines.append(("output", resolve(cfg_dir, cfg["output"])))
    lines.append(("scratch", cfg.get("scratch") or os.environ.get("TMPDIR") or "/tmp"))
    sandbox = cfg.get("sandbox") or {}
    lines.append(("python", (sandbox.get("python") if isinstance(sandbox, dict) else None)
                  or "/usr/bin/python3"))

    if cfg.get("suite"):
        suite_path = resolve(cfg_dir, cfg["suite"])
        lines.append(("suite", suite_path))
        suite = load(suite_path)
        for mod in suite.get("requires") or []:
            lines.append(("require", mod))
    else:
        fail(cfg_path, "no 'suite' key")

    endpoints = cfg.get("endpoints") or {}
    defaults = cfg.get("model_defaults") or {}
    per_model = cfg.get("models_config") or {}
    used = {}
    for model in models_of(cfg, cfg_dir):
        mc = per_model.get(model) or {}
        ep = (mc.get("endpoint") if isinstance(mc, dict) else None) or defaults.get("endpoint")
        if not ep:
            WARNINGS.append("model %s has no endpoint (models_config or model_defaults)" % model)
            continue
        if ep not in endpoints:
            WARNINGS.append("model %s uses endpoint '%s', which 'endpoints' does not define" % (model, ep))
            continue
        used.setdefault(ep, []).append(model)
    for name in sorted(used):
        ep = endpoints[name] or {}
        provider = str(ep.get("provider") or "openai")
        if provider in ("scripted", "replay") or not ep.get("base_url"):
            continue
        lines.append(("endpoint", name, ep["base_url"], ep.get("api_key_env") or "-",
                      ",".join(used[name])))

    for w in WARNINGS:
        lines.append(("warning", w))
    sys.stdout.write("".join("\t".join(clean(f) for f in line) + "\n" for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
