"""chainrule.backends.blas: what BLAS NumPy loaded, and the note about OpenBLAS overrides."""
import json
import os
import subprocess
import sys

import pytest

from chainrule.backends import blas
from chainrule.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_no_overrides_no_warning():
    assert blas.overrides({}) == {}
    assert blas.override_warning({"OPENBLAS_NUM_THREADS": "1"}) is None


def test_the_warning_names_each_variable_and_the_fix():
    one = blas.override_warning({"OPENBLAS_CORETYPE": "Haswell"})
    assert one.startswith("OPENBLAS_CORETYPE=Haswell is set:")
    assert "`env -u OPENBLAS_CORETYPE ...`" in one
    both = blas.override_warning({"OPENBLAS_CORETYPE": "Zen", "OPENBLAS_L2_SIZE": "512"})
    assert "OPENBLAS_CORETYPE=Zen and OPENBLAS_L2_SIZE=512 are set" in both
    assert "`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ...`" in both


def _info_in_fresh_process(env):
    code = "import json; from chainrule.backends import blas; print(json.dumps(blas.info()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_info_reports_the_core_openblas_uses():
    base = {k: v for k, v in os.environ.items() if k not in blas.OVERRIDE_VARS}
    native = _info_in_fresh_process(dict(base, OPENBLAS_NUM_THREADS="1"))
    if "core" not in native:
        pytest.skip(f"NumPy's BLAS is not a readable OpenBLAS: {native}")
    assert native["threads"] == 1 and native["core"] in native["config"]
    # the override takes effect when NumPy loads: the library then reports the forced core
    forced = _info_in_fresh_process(dict(base, OPENBLAS_NUM_THREADS="1",
                                         OPENBLAS_CORETYPE="Haswell"))
    assert forced["core"].lower() == "haswell"


def test_training_prints_the_note_when_a_core_is_forced(tmp_path, capsys, monkeypatch):
    argv = ["train", "--model", "char-lstm", "--steps", "2", "--eval-interval", "2",
            "--batch-size", "2", "--block-size", "8", "--time-limit", "0"]
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.delenv("OPENBLAS_L2_SIZE", raising=False)
    assert main(argv + ["--out", str(tmp_path / "a")]) == 0
    assert "note: OPENBLAS_CORETYPE=Haswell is set" in capsys.readouterr().out
    monkeypatch.delenv("OPENBLAS_CORETYPE")
    assert main(argv + ["--out", str(tmp_path / "b")]) == 0
    assert "OPENBLAS_CORETYPE" not in capsys.readouterr().out
