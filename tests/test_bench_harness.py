"""The benchmark harness's separate-process timing (benchmarks/run_all.py and bench_peers.py):
rounds alternate the libraries' order, samples are pooled, and torch-only processes run with
glibc's malloc defaults (importing chainrule for the workload code would tune them)."""
import os
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path.insert(0, BENCH)
run_all = pytest.importorskip("run_all")


def test_separate_times_alternate_the_order_and_pool_the_samples(monkeypatch):
    calls = []

    def fake_worker(args, timeout, threads=None):
        calls.append(args)
        lib = args[-1]
        return {lib: [float(len(calls))] * int(args[2])}
    monkeypatch.setattr(run_all, "_run_worker", fake_worker)
    times = run_all._separate_times("lenet", 7, "wall", 60, 2)
    assert [c[-1] for c in calls] == ["chainrule", "torch", "torch", "chainrule",
                                      "chainrule", "torch"]
    assert all(c[:2] == ["time", "lenet"] and c[2] == "3" for c in calls)   # ceil(7 / 3) each
    assert len(times["chainrule"]) == len(times["torch"]) == 9
    assert times["chainrule"] == [1.0] * 3 + [4.0] * 3 + [5.0] * 3


def test_torch_only_workers_keep_glibcs_malloc_defaults(monkeypatch):
    seen = {}

    class Done:
        returncode, stdout, stderr = 0, "{}\n", ""

    def fake_run(cmd, env=None, **kwargs):
        seen[cmd[-1]] = env.get("CHAINRULE_MALLOC")
        return Done()
    monkeypatch.setattr(run_all.subprocess, "run", fake_run)
    monkeypatch.delenv("CHAINRULE_MALLOC", raising=False)
    run_all._run_worker(["time", "lenet", "3", "wall", "torch"], 60)
    run_all._run_worker(["time", "lenet", "3", "wall", "chainrule"], 60)
    assert seen == {"torch": "default", "chainrule": None}


def test_alternating_rounds_drop_a_library_that_fails():
    calls = []

    def time_one(lib, n):
        calls.append(lib)
        return None if lib == "b" else [1.0] * n
    times = run_all.alternating_rounds(["a", "b"], 4, time_one, rounds=2)
    assert calls == ["a", "b", "a"]                # b failed in round 1 and is not tried again
    assert times == {"a": [1.0] * 4}
