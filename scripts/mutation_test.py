"""Mutation test of the OpInfo test suite: can the gradient tests fail?

For every primitive in ``chainrule.ops.PRIMITIVES`` in turn, its backward is patched so that every
gradient it returns is scaled by ``1 + 1e-4``; then the OpInfo entries whose ``primitives`` name it
run through the harness of ``tests/test_ops.py`` (forward/backward against torch in float64 and
float32, gradcheck, gradgradcheck). The mutant is *caught* when any of those checks fails. An op
that is not caught points at a hole in its tests: a tolerance too loose, a gradient never checked,
or no sample that reaches the primitive.

    python scripts/mutation_test.py                   # every primitive (several minutes)
    python scripts/mutation_test.py --ops Exp,Sum     # a few
    python scripts/mutation_test.py --json out.json   # also write the results as JSON
    python scripts/mutation_test.py --baseline        # first check the unmutated tests pass

Exit status 1 when a mutant was not caught (or, with --baseline, an unmutated test failed).
"""
import argparse
import contextlib
import json
import os
import sys
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

import pytest  # noqa: E402

import chainrule  # noqa: E402
from chainrule.ops import PRIMITIVES  # noqa: E402

SCALE = 1.0 + 1e-4


def _scaled(grad, scale):
    if isinstance(grad, chainrule.Tensor):
        return grad * scale            # a chainrule op: double backward still sees the mutant
    return grad


@contextlib.contextmanager
def mutated(name, scale=SCALE):
    """Patch ``PRIMITIVES[name].backward`` to scale every gradient it returns by ``scale``."""
    cls = PRIMITIVES[name]
    original = cls.__dict__["backward"]
    backward = original.__func__ if isinstance(original, staticmethod) else original

    def mutant(ctx, *grads):
        out = backward(ctx, *grads)
        if isinstance(out, (tuple, list)):
            return tuple(_scaled(g, scale) for g in out)
        return _scaled(out, scale)

    cls.backward = staticmethod(mutant)
    try:
        yield
    finally:
        cls.backward = original


def _checks(entry):
    """(label, thunk) for every harness check of one OpInfo entry, cheapest-to-fail first."""
    import test_ops as h
    out = []
    dtypes = [d for d in ("float64", "float32") if d in entry.dtypes]
    if entry.grad:
        out += [(f"fwd-bwd {d}", lambda d=d: h.test_forward_and_backward_match_torch(entry, d))
                for d in dtypes[:1]]
        out.append(("gradcheck", lambda: h.test_gradcheck(entry)))
        out += [(f"fwd-bwd {d}", lambda d=d: h.test_forward_and_backward_match_torch(entry, d))
                for d in dtypes[1:]]
        if entry.gradgrad:
            out.append(("gradgradcheck", lambda: h.test_gradgradcheck(entry)))
    return out


def _run(check):
    """'pass', 'fail: ...' or 'skip' for one check."""
    try:
        with warnings.catch_warnings(), chainrule.autograd.set_grad_enabled(True):
            warnings.simplefilter("ignore")
            chainrule.manual_seed(0)
            check()
    except pytest.skip.Exception:
        return "skip"
    except Exception as exc:        # AssertionError and any error a wrong gradient provokes
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"fail: {type(exc).__name__}: {first[:150]}"
    return "pass"


def entries_for(name, op_db):
    return [e for e in op_db if name in e.primitives]


def mutate_one(name, op_db, baseline=False, scale=SCALE):
    """Run the mutant of one primitive; returns a result dict."""
    entries = entries_for(name, op_db)
    result = {"primitive": name, "entries": [e.name for e in entries], "caught": False,
              "caught_by": None, "baseline_failures": [], "checks_run": 0}
    t0 = time.perf_counter()
    if baseline:
        for entry in entries:
            for label, check in _checks(entry):
                status = _run(check)
                if status.startswith("fail"):
                    result["baseline_failures"].append(f"{entry.name} {label}: {status}")
    with mutated(name, scale):
        for entry in entries:
            for label, check in _checks(entry):
                status = _run(check)
                result["checks_run"] += 1
                if status.startswith("fail"):
                    result["caught"] = True
                    result["caught_by"] = f"{entry.name} {label}"
                    result["message"] = status
                    break
            if result["caught"]:
                break
    result["seconds"] = round(time.perf_counter() - t0, 2)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", default="", help="comma-separated primitive names (default: all)")
    parser.add_argument("--json", default=None, metavar="PATH",
                        help="write the results as JSON to PATH ('-' for stdout)")
    parser.add_argument("--baseline", action="store_true",
                        help="also run the unmutated checks and report their failures")
    args = parser.parse_args(argv)
    from opinfo import OP_DB

    names = [n.strip() for n in args.ops.split(",") if n.strip()] or sorted(PRIMITIVES)
    unknown = [n for n in names if n not in PRIMITIVES]
    if unknown:
        parser.error(f"unknown primitives: {unknown}")
    results = []
    quiet = args.json == "-"
    if not quiet:
        print(f"{'primitive':<20} {'result':<10} {'s':>6}  caught by / note")
    for name in names:
        r = mutate_one(name, OP_DB, args.baseline)
        results.append(r)
        if not quiet:
            status = "caught" if r["caught"] else ("NO TESTS" if not r["entries"] else "MISSED")
            note = r["caught_by"] or ", ".join(r["entries"][:4])
            if r["baseline_failures"]:
                note += f"  [baseline fails: {r['baseline_failures'][0]}]"
            print(f"{name:<20} {status:<10} {r['seconds']:>6.1f}  {note}", flush=True)
    caught = sum(r["caught"] for r in results)
    pct = 100.0 * caught / len(results) if results else 100.0
    summary = {"primitives": len(results), "caught": caught, "caught_percent": round(pct, 1),
               "missed": [r["primitive"] for r in results if not r["caught"]],
               "baseline_failures": sum(bool(r["baseline_failures"]) for r in results),
               "results": results}
    if not quiet:
        print(f"\ncaught {caught}/{len(results)} mutants ({pct:.1f} %)")
        if summary["missed"]:
            print("missed:", ", ".join(summary["missed"]))
    if args.json == "-":
        json.dump(summary, sys.stdout, indent=1)
    elif args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)
    return 0 if not summary["missed"] and not summary["baseline_failures"] else 1


if __name__ == "__main__":
    sys.exit(main())
