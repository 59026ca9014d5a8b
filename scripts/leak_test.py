"""Memory leak test: train the LeNet model for many steps and watch the resident set size.

    python scripts/leak_test.py                          # 10,000 steps, batch 8 (several minutes)
    python scripts/leak_test.py --steps 300 --batch 4    # the short version the test suite runs

Each step is ``Trainer.train_step`` (forward, cross-entropy, backward, the non-finite check,
SGD with momentum) on the next batch of a ``DataLoader`` over a fixed synthetic 1x28x28 data set
(shuffled, re-iterated every epoch). The RSS (``/proc/self/statm``, or the peak ``ru_maxrss``
where there is no ``/proc``) is sampled every ``--every`` steps. After warm-up (the first
``--warmup`` fraction of the steps, when the allocator's pools and the optimizer state settle),
the growth is the median RSS of the last quarter of the samples minus the median of the first
quarter after warm-up; the script prints the samples and the growth and exits with status 1 when
the growth exceeds ``--max-growth-mb``.

``--inject-leak`` keeps every step's loss tensor (and with it the autograd graph and its saved
activations) alive, to show that the test catches a real leak.
"""
import argparse
import os
import resource
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.models import LeNet  # noqa: E402
from chainrule.training import Progress, Trainer  # noqa: E402
from chainrule.utils.data import DataLoader, TensorDataset  # noqa: E402

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_mb():
    """The current resident set size in MiB (the peak where ``/proc`` is unavailable)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE / 2 ** 20
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (2 ** 20 if sys.platform == "darwin" else 2 ** 10)


def _batches(loader):
    while True:
        yield from loader


class _LeakyTrainer(Trainer):
    """Keeps every loss tensor alive (``--inject-leak``)."""

    kept = []

    def train_step(self, x, y, epoch=0, batch=0):
        out = self.model(x)
        self.kept.append(self.loss_fn(out, y))
        return super().train_step(x, y, epoch, batch)


def run(steps, batch, every, warmup, seed=0, inject_leak=False):
    """Train ``steps`` steps; returns ``(samples, growth_mb)``, samples = ``[(step, rss_mb)]``."""
    cr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    n = batch * 16
    data = TensorDataset(cr.tensor(rng.standard_normal((n, 1, 28, 28)).astype(np.float32)),
                         cr.tensor(rng.integers(0, 10, n)))
    loader = DataLoader(data, batch_size=batch, shuffle=True)
    model = LeNet()
    cls = _LeakyTrainer if inject_leak else Trainer
    trainer = cls(model, cr.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), loader,
                  progress=Progress(quiet=True), distributed=False)
    model.train()
    samples = []
    for step, (x, y) in zip(range(1, steps + 1), _batches(loader)):
        trainer.train_step(x, y)
        if step % every == 0 or step == steps:
            samples.append((step, rss_mb()))
    return samples, growth(samples, steps * warmup)


def growth(samples, warmup_steps):
    """Median RSS of the last quarter of the post-warm-up samples minus that of the first."""
    after = [mb for step, mb in samples if step > warmup_steps]
    if len(after) < 4:
        raise ValueError(f"leak_test: {len(after)} samples after warm-up, need at least 4 "
                         f"(lower --every or --warmup)")
    q = len(after) // 4
    return statistics.median(after[-q:]) - statistics.median(after[:q])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--every", type=int, default=None,
                    help="sample the RSS every this many steps (default: steps / 50)")
    ap.add_argument("--warmup", type=float, default=0.2, help="fraction of steps ignored")
    ap.add_argument("--max-growth-mb", type=float, default=8.0)
    ap.add_argument("--inject-leak", action="store_true")
    args = ap.parse_args(argv)
    every = args.every or max(1, args.steps // 50)
    samples, grown = run(args.steps, args.batch, every, args.warmup,
                         inject_leak=args.inject_leak)
    for step, mb in samples:
        print(f"step {step:6d}  rss {mb:8.2f} MiB")
    ok = grown <= args.max_growth_mb
    print(f"LeNet, {args.steps} steps of batch {args.batch}: RSS growth after warm-up "
          f"{grown:+.2f} MiB (limit {args.max_growth_mb} MiB): {'ok' if ok else 'LEAK'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
