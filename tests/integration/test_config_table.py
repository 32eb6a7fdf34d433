"""docs/design.md's config example names every key of core's table of config
keys (src/core/config_opts.c) and no other: the key list a user reads cannot
drift from the one the loader accepts."""
import os
import re
import subprocess

import yaml

SRC = os.environ.get("LLM4HEP_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
TOOLS = os.environ.get("LLM4HEP_TOOLS_DIR",
                       os.path.join(os.environ.get("LLM4HEP_BUILD_DIR", "build"), "tests", "tools"))


def table_keys():
    out = subprocess.run([os.path.join(TOOLS, "core_config_keys")], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    return out.split()


class MergingLoader(yaml.SafeLoader):
    """The example repeats keys (two models_config lines): keep every one."""


def _merge(loader, node):
    out = {}
    for k, v in node.value:
        key, val = loader.construct_object(k, deep=True), loader.construct_object(v, deep=True)
        if isinstance(out.get(key), dict) and isinstance(val, dict):
            out[key].update(val)
        else:
            out[key] = val
    return out


MergingLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _merge)


def docs_example():
    text = open(os.path.join(SRC, "docs", "design.md"), encoding="utf-8").read()
    m = re.search(r"## Campaign config.*?```yaml\n(.*?)```", text, re.S)
    assert m, "docs/design.md has no ```yaml block under '## Campaign config'"
    return yaml.load(m.group(1), Loader=MergingLoader)


def docs_keys(node, prefix, table):
    """Every key path the example writes, walked as the table nests them."""
    found = []
    for key, val in node.items():
        path = prefix + str(key)
        found.append(path)
        if isinstance(val, dict) and any(t.startswith(path + ".*.") for t in table):
            for item in val.values():
                found += docs_keys(item, path + ".*.", table)
        elif isinstance(val, dict) and any(t.startswith(path + ".") for t in table):
            found += docs_keys(val, path + ".", table)
        elif isinstance(val, list) and any(t.startswith(path + "[].") for t in table):
            for item in val:
                found += docs_keys(item, path + "[].", table)
    return found


def same_shape(keys):
    """model_defaults and each models_config entry take the same keys (one set of
    rows): the example may show a key in either."""
    return [k.replace("models_config.*.", "model_defaults.") for k in keys]


def test_docs_name_every_config_key_and_no_other():
    table = table_keys()
    assert "limits.task_wall_s" in table and "endpoints.*.base_url" in table
    assert len(table) == len(set(table)), "a key is in the table twice"
    documented = same_shape(docs_keys(docs_example(), "", table))
    table = same_shape(table)
    unknown = sorted(set(documented) - set(table))
    missing = [k for k in dict.fromkeys(table) if k not in documented]
    assert not unknown, f"docs/design.md names keys the loader refuses: {unknown}"
    assert not missing, f"docs/design.md's config example leaves out: {missing}"


def test_the_check_sees_a_missing_and_an_unknown_key():
    """The walk above can fail: drop a key from the example and add a stray one."""
    table = table_keys()
    doc = docs_example()
    doc["limits"].pop("task_wall_s")
    doc["retry"]["max_sec"] = 1
    documented = docs_keys(doc, "", table)
    assert "limits.task_wall_s" not in documented
    assert "retry.max_sec" in set(documented) - set(table)
