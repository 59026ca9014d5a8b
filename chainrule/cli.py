"""The ``chainrule`` command line."""
import argparse
import sys


def _demo(args):
    from .demo import train_demo
    train_demo(steps=args.steps, seed=args.seed)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="chainrule", description="chainrule command line")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train the default model")
    train.add_argument("--steps", type=int, default=300)
    train.add_argument("--seed", type=int, default=0)
    train.set_defaults(fn=_demo)
    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
