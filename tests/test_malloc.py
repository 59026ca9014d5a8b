"""chainrule.backends.malloc: freed activation memory is reused instead of faulted in again."""
import json
import os
import subprocess
import sys

import pytest

from chainrule.backends import malloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# a GELU MLP step on 2048 rows: its 8 MiB activations are freed and allocated again each step
WORKER = """
import json, resource, sys
import numpy as np
import chainrule as cr              # importing chainrule tunes malloc (unless told not to)
from chainrule.backends import malloc
tuned = malloc._applied is not None
from chainrule import nn
rng = np.random.default_rng(0)
m = nn.Sequential(nn.Linear(256, 1024), nn.GELU(approximate="tanh"), nn.Linear(1024, 256))
x = cr.tensor(rng.standard_normal((2048, 256)).astype(np.float32))
def step():
    m(x).square().mean().backward()
for _ in range(3):
    step()
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print(json.dumps({"tuned": tuned,
                  "faults": (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / 10}))
"""


def _run(**env):
    base = {k: v for k, v in os.environ.items()
            if k not in ("CHAINRULE_MALLOC", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")}
    out = subprocess.run([sys.executable, "-c", WORKER], capture_output=True, text=True,
                         check=True, cwd=ROOT, env=dict(base, OPENBLAS_NUM_THREADS="1", **env))
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(malloc._glibc() is None, reason="needs glibc")
def test_importing_chainrule_tunes_malloc_and_stops_the_page_faults_of_each_step():
    tuned, default = _run(), _run(CHAINRULE_MALLOC="default")
    assert tuned["tuned"] is True and default["tuned"] is False
    # untuned: thousands of fresh pages a step (about 5,500 here); tuned: the memory is reused
    if default["faults"] < 500:
        pytest.skip(f"this machine's malloc already reuses the memory: {default}")
    assert tuned["faults"] < default["faults"] / 10, (tuned, default)


def test_tune_leaves_the_users_settings_alone():
    assert malloc.tune(environ={"CHAINRULE_MALLOC": "default"}) is False
    assert malloc.tune(environ={"MALLOC_MMAP_THRESHOLD_": "65536"}) is False
    assert malloc.tune(environ={"MALLOC_TRIM_THRESHOLD_": "0"}) is False
