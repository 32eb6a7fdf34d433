"""Dispatch order of a real sweep: longest expected task first.

With one rank the campaign runs serially, so the order is fully determined by
the rule and the wall times the sweep itself measured: we replay the rule on
the results file and compare, which holds however loaded the machine is. The
arith suite's `scripted/slow` model sleeps 1.5 s in its code, `scripted/good`
does not, so in practice slow's later trials go first."""
import math
import os

from campaign_util import final_rows, make_campaign, run_sweep, tasks

MODELS = ["scripted/good", "scripted/slow"]
STEPS = [b"double", b"square"]


def output_of(cfg):
    return os.path.join(os.path.dirname(cfg), "results", "arith-test.h5")


def group(row):
    return (row["supervisor"], row["coder"], row["step"])


def plan_index(row):
    """Position in the plan: trial, then step, then model (config order)."""
    return (int(row["trial"]), STEPS.index(row["step"]), MODELS.index(row["coder"].decode()))


def replay(dispatched, known):
    """The order the rule gives: at each dispatch, the queued task whose group
    has the longest mean measured wall time (nothing measured = first), ties
    in plan order; then learn the dispatched task's own wall time."""
    sums = {}
    for r in known:
        s = sums.setdefault(group(r), [0.0, 0])
        s[0] += float(r["wall_s"])
        s[1] += 1
    queue = sorted(dispatched, key=plan_index)
    order = []
    while queue:
        def expected(r):
            s = sums.get(group(r))
            return s[0] / s[1] if s else math.inf
        best = min(queue, key=lambda r: (-expected(r), plan_index(r)))
        queue.remove(best)
        order.append(plan_index(best))
        s = sums.setdefault(group(best), [0.0, 0])
        s[0] += float(best["wall_s"])
        s[1] += 1
    return order


def in_dispatch_order(rows):
    return sorted(rows, key=lambda r: float(r["started_utc"]))


def test_one_slot_dispatches_longest_expected_first(tmp_path):
    cfg = make_campaign(tmp_path, MODELS, trials=3, max_iterations=1)
    r = run_sweep(cfg, 1)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = in_dispatch_order(list(final_rows(output_of(cfg))))
    assert len(rows) == 12
    actual = [plan_index(x) for x in rows]
    assert actual == replay(rows, []), actual
    # Nothing is known at the start: trial 1 in plan order.
    assert actual[:4] == sorted(actual[:4]) and {t for t, _, _ in actual[:4]} == {1}
    # What that means here, when slow's tasks did take longer than good's.
    slow = [float(x["wall_s"]) for x in rows[:4] if x["coder"] == b"scripted/slow"]
    good = [float(x["wall_s"]) for x in rows[:4] if x["coder"] == b"scripted/good"]
    if min(slow) > max(good):
        assert [m for _, _, m in actual[4:8]] == [1, 1, 1, 1], "slow's trials 2-3 go first"


def test_resume_learns_durations_from_the_earlier_run(tmp_path):
    cfg = make_campaign(tmp_path, MODELS, trials=1, max_iterations=1)
    r = run_sweep(cfg, 1)
    assert r.returncode == 0, r.stdout + r.stderr
    first = list(final_rows(output_of(cfg)))
    assert len(first) == 4
    # Two more trials of every model x step extend the plan.
    with open(cfg) as f:
        text = f.read().replace("trials: 1", "trials: 3")
    with open(cfg, "w") as f:
        f.write(text)
    r = run_sweep(cfg, 1)
    assert r.returncode == 0, r.stdout + r.stderr
    allrows = tasks(output_of(cfg))
    second = [x for x in allrows if x["final"] == 1 and int(x["run"]) == 2]
    assert len(second) == 8
    second = in_dispatch_order(second)
    actual = [plan_index(x) for x in second]
    # The earlier run's measurements order the new run from its first task.
    assert actual == replay(second, first), actual
    slow = [float(x["wall_s"]) for x in first if x["coder"] == b"scripted/slow"]
    good = [float(x["wall_s"]) for x in first if x["coder"] == b"scripted/good"]
    if min(slow) > max(good):
        assert [m for _, _, m in actual[:4]] == [1, 1, 1, 1]
