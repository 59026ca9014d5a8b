"""``chainrule explain``: one training step on one Fashion-MNIST image, explained.

Wire it into a CLI with::

    sub = subparsers.add_parser("explain", help="see backpropagation work on one example")
    chainrule.explain.add_arguments(sub)
    sub.set_defaults(fn=chainrule.explain.explain_main)
"""
import os

import numpy as np

__all__ = ["add_arguments", "explain_main"]

_DEFAULTS = dict(checkpoint=None, index=None, train_steps=60, lr=0.01, out=None, seed=0,
                 no_graph=False)


def add_arguments(parser):
    """Add the ``explain`` options to an argparse parser (or subparser)."""
    parser.add_argument("--checkpoint", default=None,
                        help="state_dict file (chainrule.save) for the model; default: train "
                             "the default tiny CNN for --train-steps steps first")
    parser.add_argument("--index", type=int, default=None,
                        help="test image to explain (default: the first one the model gets "
                             "wrong)")
    parser.add_argument("--train-steps", type=int, default=_DEFAULTS["train_steps"],
                        help="SGD steps of warm-up training when no checkpoint is given "
                             "(0: explain an untrained network)")
    parser.add_argument("--lr", type=float, default=_DEFAULTS["lr"],
                        help="learning rate of the explained SGD step")
    parser.add_argument("--out", default=None,
                        help="folder for report.html and the PNG figures (default: text only)")
    parser.add_argument("--seed", type=int, default=_DEFAULTS["seed"])
    parser.add_argument("--no-graph", action="store_true",
                        help="skip drawing the computation graph")
    return parser


def _opt(args, name):
    return getattr(args, name, _DEFAULTS[name]) if args is not None else _DEFAULTS[name]


def _images(dataset):
    x = np.asarray(dataset.data.data, dtype=np.float32) / 255.0
    return x[:, None] if x.ndim == 3 else x, np.asarray(dataset.targets.data, dtype=np.int64)


def _warm_up(model, dataset, steps, seed, log):
    import chainrule as cr
    from .. import nn, optim
    x, y = _images(dataset)
    rng = np.random.default_rng(seed)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for k in range(steps):
        idx = rng.integers(0, len(y), 64)
        loss = loss_fn(model(cr.tensor(x[idx])), cr.tensor(y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if log and (k % 20 == 0 or k == steps - 1):
            log(f"warm-up step {k + 1:>4}/{steps}  loss {loss.item():.3f}")


def explain_main(args=None, model=None, dataset=None, class_names=None, log=print):
    """Run ``chainrule explain``: print the report, and write HTML/PNGs when ``args.out`` is set.

    Args:
        args: an argparse Namespace with the options of ``add_arguments`` (missing ones take
            their defaults; None uses all defaults).
        model: a classifier for 1x28x28 images (default: ``default_model()``, loaded from
            ``args.checkpoint`` or briefly trained).
        dataset: the test images (default: bundled Fashion-MNIST test split), with ``.data``
            (N, 28, 28) uint8, ``.targets`` and ``.classes``.
        class_names: overrides ``dataset.classes``.
        log: where progress and the report go (``print``).

    Returns:
        int: 0 (the process exit status).
    """
    import chainrule as cr
    from .. import nn, optim
    from .core import default_model, step
    from .report import format_report
    seed = _opt(args, "seed")
    cr.manual_seed(seed)
    if dataset is None:
        from ..datasets import FashionMNIST
        dataset = FashionMNIST(train=False)
    names = list(class_names or getattr(dataset, "classes", None) or []) or None
    if model is None:
        model = default_model(num_classes=len(names) if names else 10)
        checkpoint = _opt(args, "checkpoint")
        if checkpoint:
            model.load_state_dict(cr.load(checkpoint))
        elif _opt(args, "train_steps") > 0:
            from ..datasets import FashionMNIST
            train = FashionMNIST(train=True) if isinstance(dataset, FashionMNIST) else dataset
            _warm_up(model, train, _opt(args, "train_steps"), seed, log)
    x, y = _images(dataset)
    index = _opt(args, "index")
    if index is None:
        model.eval()
        with cr.no_grad():
            pred = model(cr.tensor(x[:256])).data.argmax(-1)
        wrong = np.flatnonzero(pred != y[:256])
        index = int(wrong[0]) if wrong.size else 0
    if not 0 <= index < len(y):
        raise IndexError(f"explain: --index {index} is out of range for {len(y)} test images")
    log(f"explaining test image {index}\n")
    result = step(model, cr.tensor(x[index]), int(y[index]), nn.CrossEntropyLoss(),
                  optim.SGD(model.parameters(), lr=_opt(args, "lr")), class_names=names,
                  draw=not _opt(args, "no_graph"))
    log(format_report(result))
    out = _opt(args, "out")
    if out:
        from .html import write_html
        os.makedirs(out, exist_ok=True)
        written = [write_html(result, os.path.join(out, "report.html"))]
        try:
            from .plots import save_pngs
            written += list(save_pngs(result, out).values())
        except ImportError as e:
            log(f"(no PNG figures: {e})")
        if result.graph is not None:
            with open(os.path.join(out, "graph.dot"), "w", encoding="utf-8") as f:
                f.write(result.graph.dot)
            written.append(os.path.join(out, "graph.dot"))
        log("wrote " + ", ".join(written))
    return 0
