"""Cost of the Trainer's non-finite check: LeNet training steps with the check on vs off.

    python benchmarks/bench_trainer_checks.py                   # batch 64, 15 rounds
    python benchmarks/bench_trainer_checks.py --batch 32 --rounds 25 --steps 4

Every ``Trainer.train_step`` checks the loss (``float(loss.item())``, which the step needs for its
return value anyway) and the global gradient norm (the clipping norm when ``grad_clip`` is set,
otherwise one ``get_total_norm`` pass over the gradients) and stops at the first non-finite one.
"Off" is a Trainer whose ``_check_grads`` does nothing (the loss value is read either way).

Both trainers train their own copy of the same LeNet (1x28x28, batch 64) in one process; each
round times ``--steps`` steps of one, then of the other (the order alternates per round), and the
overhead is the ratio of the medians, printed as a percentage (target: <= 5 %). On a loaded machine
that ratio is noisy by a few percent either way, so the check is also timed alone (repeated calls on
the last step's gradients) and given as a share of the unchecked step.
"""
import argparse
import copy
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.models import LeNet  # noqa: E402
from chainrule.training import Progress, Trainer  # noqa: E402


class _UncheckedTrainer(Trainer):
    """A Trainer without the gradient check (the 'off' side of the comparison)."""

    def _check_grads(self, epoch, batch):
        if self.grad_clip:
            cr.nn.utils.clip_grad_norm_([p for p in self._params() if p.grad is not None],
                                        self.grad_clip)


def _trainer(cls, model, grad_clip):
    opt = cr.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return cls(model, opt, train_loader=None, grad_clip=grad_clip,
               progress=Progress(quiet=True), distributed=False)


def _time_steps(trainer, x, y, steps):
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_step(x, y)
    return time.perf_counter() - start


def measure(batch=64, rounds=15, steps=2, warmup=2, grad_clip=0.0, seed=0):
    """Median seconds per step with the check on and off, and the overhead in percent."""
    cr.manual_seed(seed)
    base = LeNet()
    on = _trainer(Trainer, base, grad_clip)
    off = _trainer(_UncheckedTrainer, copy.deepcopy(base), grad_clip)
    rng = np.random.default_rng(seed)
    x = cr.tensor(rng.standard_normal((batch, 1, 28, 28)).astype(np.float32))
    y = cr.tensor(rng.integers(0, 10, batch))
    for t in (on, off):
        _time_steps(t, x, y, warmup)
    times = {"on": [], "off": []}
    for r in range(rounds):
        order = (("on", on), ("off", off)) if r % 2 == 0 else (("off", off), ("on", on))
        for name, t in order:
            times[name].append(_time_steps(t, x, y, steps) / steps)
    med_on, med_off = statistics.median(times["on"]), statistics.median(times["off"])
    check = statistics.median(_time_check(on) for _ in range(rounds))
    return {"on_ms": med_on * 1e3, "off_ms": med_off * 1e3,
            "overhead_pct": 100.0 * (med_on - med_off) / med_off,
            "check_ms": check * 1e3, "check_pct": 100.0 * check / med_off}


def _time_check(trainer, calls=50):
    """Seconds per call of the gradient check alone (the gradients of the last step)."""
    start = time.perf_counter()
    for _ in range(calls):
        trainer._check_grads(0, 0)
    return (time.perf_counter() - start) / calls


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--steps", type=int, default=2, help="steps per timed sample")
    ap.add_argument("--grad-clip", type=float, default=0.0)
    args = ap.parse_args(argv)
    r = measure(args.batch, args.rounds, args.steps, grad_clip=args.grad_clip)
    print(f"LeNet batch {args.batch}, grad_clip {args.grad_clip}: check on {r['on_ms']:.2f} ms/step"
          f", off {r['off_ms']:.2f} ms/step, overhead {r['overhead_pct']:+.2f} % (target <= 5 %)")
    print(f"the gradient check alone: {r['check_ms']:.3f} ms/step = {r['check_pct']:.2f} % of a "
          f"step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
