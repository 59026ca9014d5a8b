"""The ``chainrule`` command line (also ``python -m chainrule``).

    chainrule train [options]            train (default: LeNet on the bundled Fashion-MNIST)
    chainrule evaluate RUN               test accuracy and confusion matrix of a saved run
    chainrule predict RUN IMAGE...       top-k classes of image files
    chainrule summary --model NAME       layer table: output shapes, parameters, backward memory
    chainrule explain                    one training step on one image, explained
    chainrule demo                       gradient descent on two spirals, in 40 lines of NumPy

Errors (bad options, missing or unreadable files, bad checkpoints) print one line on stderr and
exit with status 1 (2 for a bad command line); ``--debug`` shows the traceback instead.

``mpiexec -n N chainrule train ...`` trains data-parallel on N processes (docs/distributed.md);
an error on any rank prints one line naming the rank and stops every rank.
"""
import argparse
import dataclasses
import sys

__all__ = ["main", "build_parser"]

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


class UsageError(Exception):
    """A bad command line (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad command line raises UsageError (one line) instead of exiting."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _nonneg_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _nonneg_float(text):
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a non-negative number, got {text}")
    return value


def _fraction(text):
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1), got {text}")
    return value


def _classes(text):
    names = [c.strip() for c in text.split(",") if c.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated class names or indices")
    return names


for _fn, _name in ((_positive_int, "positive integer"), (_nonneg_int, "non-negative integer"),
                   (_positive_float, "positive number"), (_nonneg_float, "number"),
                   (_fraction, "fraction"), (_classes, "class list")):
    _fn.__name__ = _name       # argparse names the type in "invalid <type> value" messages


def _add_debug(parser):
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback of an error")


def _add_train_arguments(p):
    from .training.config import (DATASETS, LR_SCALINGS, MODELS, OPTIMIZERS, SCHEDULERS,
                                  TrainConfig)
    from .training.language import LANGUAGE_MODELS, LanguageConfig
    d, lm = TrainConfig(), LanguageConfig()
    s = argparse.SUPPRESS         # options not given keep TrainConfig's default (or the run's)
    p.add_argument("--model", choices=MODELS + tuple(LANGUAGE_MODELS), default=s,
                   help=f"default {d.model}; char-transformer and char-lstm are character-level "
                        f"language models trained on --data shakespeare")
    p.add_argument("--data", choices=DATASETS + ("shakespeare",), default=s,
                   help=f"default {d.data} (the bundled subset)")
    p.add_argument("--steps", type=_positive_int, default=s,
                   help=f"language models: optimizer steps, default {lm.steps}")
    p.add_argument("--block-size", type=_positive_int, default=s,
                   help=f"language models: characters of context, default {lm.block_size}")
    p.add_argument("--time-limit", type=_nonneg_float, default=s,
                   help="language models: stop after this many seconds (0: no limit)")
    p.add_argument("--eval-interval", type=_positive_int, default=s,
                   help=f"language models: validate every N steps, default {lm.eval_interval}")
    p.add_argument("--data-dir", default=s,
                   help="folder of the data files (mnist-idx, cifar10, imagefolder; "
                        "'system' for the full Fashion-MNIST of Debian's package)")
    p.add_argument("--classes", type=_classes, default=s,
                   help="keep only these classes, e.g. cat,dog or 3,5")
    p.add_argument("--epochs", type=_positive_int, default=s, help=f"default {d.epochs}")
    p.add_argument("--batch-size", type=_positive_int, default=s,
                   help=f"default {d.batch_size}")
    p.add_argument("--lr", type=_positive_float, default=s,
                   help=f"(peak) learning rate, default {d.lr}")
    p.add_argument("--lr-scaling", choices=LR_SCALINGS, default=s,
                   help="under mpiexec -n N: scale --lr for the N-times larger global batch "
                        "(linear: x N, sqrt: x sqrt N); default none: the lr as given")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=s, help=f"default {d.optimizer}")
    p.add_argument("--momentum", type=_nonneg_float, default=s,
                   help=f"for sgd and rmsprop, default {d.momentum}")
    p.add_argument("--no-nesterov", dest="nesterov", action="store_false", default=s,
                   help="plain momentum for sgd (default: Nesterov)")
    p.add_argument("--weight-decay", type=_nonneg_float, default=s)
    p.add_argument("--scheduler", choices=SCHEDULERS, default=s, help=f"default {d.scheduler}")
    p.add_argument("--grad-clip", type=_nonneg_float, default=s,
                   help=f"clip the gradient norm (0: off), default {d.grad_clip}")
    p.add_argument("--label-smoothing", type=_fraction, default=s)
    p.add_argument("--val-fraction", type=_fraction, default=s,
                   help=f"share of the training set for validation, default {d.val_fraction}")
    p.add_argument("--patience", type=_nonneg_int, default=s,
                   help="early stopping after this many epochs without progress (0: off)")
    p.add_argument("--seed", type=int, default=s, help=f"default {d.seed}")
    p.add_argument("--image-size", type=_nonneg_int, default=s,
                   help="resize images to this side (0: the data's own)")
    p.add_argument("--workers", type=_nonneg_int, default=s,
                   help="background threads loading batches")
    p.add_argument("--limit-train", type=_nonneg_int, default=s,
                   help="use only N training images (0: all)")
    p.add_argument("--limit-test", type=_nonneg_int, default=s,
                   help="use only N test images (0: all)")
    p.add_argument("--topk", type=_positive_int, default=s, help=f"default {d.topk}")
    p.add_argument("--no-plots", dest="plots", action="store_false", default=s,
                   help="do not draw the PNG figures")
    p.add_argument("--name", default=s, help="run directory runs/NAME")
    p.add_argument("--out", default=s, help="run directory (default runs/<model>-<data>-<time>)")
    p.add_argument("--resume", default=None, metavar="RUN",
                   help="continue a run (its directory or a checkpoint file) exactly where it "
                        "stopped; options given here change its settings")
    p.add_argument("--stop-after-steps", type=_positive_int, default=None, metavar="N",
                   help="stop after N optimizer steps in all (a checkpoint for --resume)")
    p.add_argument("--diagnose", action="store_true",
                   help="record gradient-flow diagnostics and write diagnosis.txt/.json with "
                        "verdicts (vanishing/exploding gradients, dead ReLUs, ...)")
    p.add_argument("--quiet", action="store_true", help="print only the closing lines")


def build_parser():
    """The argparse parser of the ``chainrule`` command."""
    parser = _Parser(prog="chainrule", description="chainrule: train, evaluate and inspect "
                     "models on chainrule's own backpropagation engine")
    _add_debug(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_Parser)
    train = sub.add_parser("train", help="train a model (default: LeNet on Fashion-MNIST)",
                           description="Train a model. With no options: the LeNet-style CNN on "
                           "the bundled Fashion-MNIST subset.")
    _add_train_arguments(train)
    train.set_defaults(fn=_train)

    ev = sub.add_parser("evaluate", help="test accuracy and confusion matrix of a saved run")
    ev.add_argument("run", metavar="RUN", help="run directory written by 'chainrule train'")
    ev.add_argument("--checkpoint", default="last",
                    help="'last', 'best' or a checkpoint file (default last)")
    ev.add_argument("--batch-size", type=_positive_int, default=256)
    ev.add_argument("--data-dir", default=None, help="read the test data from here instead")
    ev.set_defaults(fn=_evaluate)

    pr = sub.add_parser("predict", help="top-k classes with probabilities for image files")
    pr.add_argument("run", metavar="RUN", help="run directory written by 'chainrule train'")
    pr.add_argument("images", metavar="IMAGE", nargs="+", help="image files (Pillow)")
    pr.add_argument("--topk", type=_positive_int, default=3)
    pr.add_argument("--checkpoint", default="last")
    pr.set_defaults(fn=_predict)

    ge = sub.add_parser("generate", help="sample text from a language-model run")
    ge.add_argument("run", metavar="RUN", help="run directory of 'chainrule train --model "
                                               "char-transformer' (or char-lstm)")
    ge.add_argument("--prompt", default="\n", help="text to continue, e.g. 'ROMEO:'")
    ge.add_argument("--length", type=_positive_int, default=500, help="characters to sample")
    ge.add_argument("--temperature", type=_nonneg_float, default=0.8,
                    help="0: greedy; below 1: safer text; above 1: wilder (default 0.8)")
    ge.add_argument("--top-k", type=_positive_int, default=None,
                    help="sample only among the k most likely characters")
    ge.add_argument("--seed", type=int, default=None, help="make the text repeatable")
    ge.add_argument("--checkpoint", default="best", help="'best', 'last' or a checkpoint file")
    ge.set_defaults(fn=_generate)

    from .training.config import DATASETS, MODELS
    su = sub.add_parser("summary", help="layer table: output shapes, parameter counts, memory "
                                        "kept for backward")
    su.add_argument("--model", choices=MODELS, default="lenet")
    su.add_argument("--data", choices=DATASETS, default="fashion-mnist",
                    help="sizes the input and output as for this data set")
    su.add_argument("--batch-size", type=_positive_int, default=1)
    su.add_argument("--image-size", type=_nonneg_int, default=0)
    su.add_argument("--num-classes", type=_positive_int, default=None)
    su.set_defaults(fn=_summary)

    from .explain import add_arguments
    ex = sub.add_parser("explain", help="see backpropagation work on one example")
    add_arguments(ex)
    ex.set_defaults(fn=_explain)

    demo = sub.add_parser("demo", help="train a tiny network on two spirals")
    demo.add_argument("--steps", type=_positive_int, default=300)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(fn=_demo)
    for p in (train, ev, pr, ge, su, ex, demo):
        _add_debug(p)
    return parser


# ------------------------------------------------------------------------- commands
def _train(args):
    from .training.config import TrainConfig
    from .training.progress import Progress
    from .training.run import train_run
    # options not given are absent (argparse.SUPPRESS): they keep the default or the run's value
    from .training.language import LANGUAGE_MODELS
    if getattr(args, "model", None) in LANGUAGE_MODELS or getattr(args, "data", None) == \
            "shakespeare":
        return _train_language(args)
    _refuse_options(args, ("steps", "block_size", "time_limit", "eval_interval"),
                    "only apply to the language models (--model char-transformer|char-lstm)")
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    given = {k: v for k, v in vars(args).items() if k in known}
    progress = Progress(quiet=args.quiet)
    if args.resume:
        train_run(None, resume=args.resume, overrides=given, progress=progress,
                  stop_after_steps=args.stop_after_steps, diagnose=args.diagnose)
    else:
        train_run(TrainConfig(**given), progress=progress,
                  stop_after_steps=args.stop_after_steps, diagnose=args.diagnose)
    return 0


def _refuse_options(args, names, why):
    given = [n for n in names if n in vars(args)]
    if given:
        flags = ", ".join("--" + n.replace("_", "-") for n in given)
        raise UsageError(f"chainrule train: {flags} {why}")


def _train_language(args):
    from .training.language import LANGUAGE_MODELS, LanguageConfig, train_language_model
    from .training.progress import Progress
    # --data shakespeare alone trains the default language model
    model = getattr(args, "model", None) or LanguageConfig.model
    if model not in LANGUAGE_MODELS:
        raise UsageError(f"chainrule train: --data shakespeare needs a language model: --model "
                         f"{' or '.join(LANGUAGE_MODELS)} (got {model})")
    if getattr(args, "data", "shakespeare") != "shakespeare":
        raise UsageError(f"chainrule train: --model {model} trains on --data shakespeare, not "
                         f"{args.data}")
    if args.resume or args.stop_after_steps or args.diagnose:
        raise UsageError(f"chainrule train: --resume, --stop-after-steps and --diagnose are not "
                         f"available for --model {model} yet")
    known = {f.name for f in dataclasses.fields(LanguageConfig)}
    image_only = [k for k in vars(args) if k not in known and k not in
                  ("command", "fn", "resume", "stop_after_steps", "diagnose", "quiet", "debug")]
    _refuse_options(args, image_only, f"do not apply to --model {model}")
    given = {k: v for k, v in vars(args).items() if k in known}
    train_language_model(LanguageConfig(**given), progress=Progress(quiet=args.quiet))
    return 0


def _generate(args):
    from .training.language import generate_from_run
    print(generate_from_run(args.run, args.prompt, length=args.length,
                            temperature=args.temperature, top_k=args.top_k, seed=args.seed,
                            checkpoint=args.checkpoint))
    return 0


def _format_confusion(confusion, classes):
    short = [c[:9] for c in classes]
    width = max(5, *(len(c) for c in short), len(str(confusion.max())) + 1)
    head = " " * (width + 1) + " ".join(c.rjust(width) for c in short)
    lines = ["confusion matrix (rows: true class, columns: predicted)", head]
    for name, row in zip(short, confusion):
        lines.append(name.rjust(width) + " " + " ".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)


def _evaluate(args):
    from .training.run import evaluate_run
    config, info, result = evaluate_run(args.run, args.checkpoint, args.batch_size,
                                        args.data_dir)
    n = info.sizes.get("test", "?")
    if "acc" in result:
        print(f"{args.run}: {config.model} on {config.data}, {n} test images")
        print(f"test accuracy {100 * result['acc']:.2f} %  top-{config.topk} "
              f"{100 * result[f'top{config.topk}']:.2f} %  loss {result['loss']:.4f}")
        print(_format_confusion(result["confusion"], info.classes))
    else:
        print(f"{args.run}: autoencoder on {config.data}, {n} test images")
        print(f"test MSE {result['loss']:.5f}  (predicting the mean image: "
              f"{result['mean_image_loss']:.5f})")
    return 0


def _predict(args):
    from .training.run import predict_images
    for path, top in predict_images(args.run, args.images, args.topk, args.checkpoint):
        print(f"{path}: " + ", ".join(f"{name} {100 * p:.1f} %" for name, p in top))
    return 0


_NATIVE = {"fashion-mnist": (1, 28, 10), "mnist-idx": (1, 28, 10), "digits": (1, 8, 10),
           "cifar10": (3, 32, 10), "imagefolder": (3, 32, 2)}


def _summary(args):
    from .training.build import build_model
    from .training.config import TrainConfig
    from .training.data import DataInfo, _image_size
    from .training.summary import format_summary, model_summary
    channels, native, classes = _NATIVE[args.data]
    config = TrainConfig(model=args.model, data=args.data, image_size=args.image_size)
    size = _image_size(config, native)
    n = args.num_classes or classes
    info = DataInfo(classes=[str(i) for i in range(n)], in_channels=channels, image_size=size)
    model = build_model(config, info)
    rows, totals = model_summary(model, (args.batch_size, channels, size, size))
    title = (f"{args.model} for {args.data} ({channels}x{size}x{size} input, batch "
             f"{args.batch_size})")
    print(format_summary(rows, totals, title))
    return 0


def _explain(args):
    from .explain import explain_main
    return explain_main(args)


def _demo(args):
    from .demo import train_demo
    train_demo(steps=args.steps, seed=args.seed)
    return 0


# ------------------------------------------------------------------------- errors
def _one_line(e):
    from .errors import CheckpointError
    if isinstance(e, OSError) and not isinstance(e, CheckpointError) and e.filename \
            and e.strerror:
        text = f"{e.filename}: {e.strerror}"
    else:
        text = str(e) or type(e).__name__
    text = " ".join(text.split())
    if not _expected(e):
        text = f"{type(e).__name__}: {text}"
    return text


def _expected(e):
    from .errors import CheckpointError
    from .training.trainer import TrainingError
    return isinstance(e, (ValueError, OSError, CheckpointError, TrainingError, ImportError,
                          RuntimeError, IndexError))


def main(argv=None):
    """Run the ``chainrule`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        return args.fn(args)
    except UsageError as e:
        print(str(e), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        if debug:
            raise
        world = _mpi_world()          # every rank stopped at the same step; rank 0 reports
        if world is not None and world[0] != 0:
            return EXIT_INTERRUPTED
        print("chainrule: interrupted (a checkpoint of the last step is in the run's "
              "checkpoints folder; continue with --resume)", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:
        if debug:
            raise
        hint = "" if _expected(e) else " (this looks like a bug: rerun with --debug and " \
                                       "report the traceback)"
        if _other_ranks_print_nothing(e):
            return EXIT_ERROR
        _abort_other_ranks_on_error("chainrule: error{where}: " + _one_line(e) + hint, e)
        print(f"chainrule: error: {_one_line(e)}{hint}", file=sys.stderr)
        return EXIT_ERROR


def _mpi_world():
    """``(rank, world size)`` when running in an MPI job of several ranks, else None."""
    if "chainrule.distributed.mpi" not in sys.modules:
        return None                       # never imports mpi4py in a single process
    from .distributed import mpi
    if not mpi.is_initialized() or mpi.get_world_size() < 2:
        return None
    return mpi.get_rank(), mpi.get_world_size()


def _other_ranks_print_nothing(e):
    """A TrainingError under MPI is raised on every rank at the same step (the step's loss and
    the averaged gradients are the same everywhere): rank 0 reports it, the others stay silent,
    and every rank exits normally."""
    from .training.trainer import TrainingError
    world = _mpi_world()
    return world is not None and isinstance(e, TrainingError) and world[0] != 0


def _abort_other_ranks_on_error(message, error=None):
    """Under ``mpiexec`` with several ranks: print ``message`` naming this rank and stop every
    rank (the others would wait in their next collective); otherwise do nothing. Nothing either
    for a TrainingError, which every rank raises together (see ``_other_ranks_print_nothing``).
    """
    from .training.trainer import TrainingError
    world = _mpi_world()
    if world is None or isinstance(error, TrainingError):
        return
    from .distributed import mpi
    mpi.abort(message.replace("{where}", f" on rank {world[0]} of {world[1]}", 1) +
              "; stopping all ranks")


if __name__ == "__main__":
    sys.exit(main())
