"""The ``chainrule`` command line: train / evaluate / predict / summary end to end in fresh
processes, exact resume and repeatability across processes, and one clear line for every bad
invocation."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHORT = ["--data", "digits", "--epochs", "1", "--limit-train", "400", "--limit-test", "120",
         "--batch-size", "32", "--seed", "3"]


def _cli(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "chainrule", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


def _steps(run_dir):
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        return [(r["step"], r["loss"]) for r in map(json.loads, f) if r["event"] == "step"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Four fresh-process runs: a, the same again (b), and c stopped after 5 steps then
    resumed in another process."""
    base = tmp_path_factory.mktemp("runs")
    done = {name: _cli("train", *SHORT, "--out", str(base / name), *extra)
            for name, extra in (("a", []), ("b", ["--no-plots"]),
                                ("c", ["--no-plots", "--stop-after-steps", "5"]))}
    done["c-resumed"] = _cli("train", "--resume", str(base / "c"))
    for name, proc in done.items():
        assert proc.returncode == 0, (name, proc.stderr)
    return base, done


def test_train_end_to_end(runs):
    base, done = runs
    out = done["a"].stdout.strip().splitlines()
    run = base / "a"
    assert out[-3].startswith("test accuracy ")
    assert out[-2] == f"run directory: {run}"                  # the last lines say where
    assert "checkpoints/last.ckpt" in out[-1] and "plots/ (4 PNG)" in out[-1]
    config = json.load(open(run / "config.json"))
    assert config["model"] == "lenet" and config["data"] == "digits" and config["epochs"] == 1
    assert json.load(open(run / "data.json"))["image_size"] == 16   # 8x8 digits -> LeNet 16
    results = json.load(open(run / "results.json"))
    assert results["acc"] > 0.3 and np.asarray(results["confusion"]).sum() == 120
    steps = _steps(run)
    assert [s for s, _ in steps] == list(range(1, 13))        # 360 train images / 32
    for name in ("curves", "confusion", "samples", "filters"):
        with open(run / "plots" / f"{name}.png", "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.isfile(run / "checkpoints" / "last.ckpt")


def test_same_seed_gives_identical_runs_in_separate_processes(runs):
    base, _ = runs
    assert _steps(base / "a") == _steps(base / "b")
    wa = cr.load(str(base / "a" / "checkpoints" / "last.ckpt"))["model"]
    wb = cr.load(str(base / "b" / "checkpoints" / "last.ckpt"))["model"]
    assert all(np.array_equal(wa[k].numpy(), wb[k].numpy()) for k in wa)


def test_resume_in_a_fresh_process_is_bit_identical(runs):
    base, done = runs
    assert "stopped after step 5" in done["c"].stdout
    assert "resuming" in done["c-resumed"].stdout
    assert _steps(base / "c") == _steps(base / "a")
    ra = json.load(open(base / "a" / "results.json"))
    rc = json.load(open(base / "c" / "results.json"))
    assert ra == rc


def test_evaluate_predict_summary(runs, tmp_path):
    base, _ = runs
    run = str(base / "a")
    ev = _cli("evaluate", run)
    assert ev.returncode == 0, ev.stderr
    results = json.load(open(base / "a" / "results.json"))
    assert f"test accuracy {100 * results['acc']:.2f} %" in ev.stdout
    assert "confusion matrix" in ev.stdout
    # predict: two test digits written as PNG files
    from PIL import Image
    from chainrule.datasets import Digits
    test = Digits(train=False)
    paths = []
    for i in (0, 1):
        img = (np.asarray(test.data.data[i], dtype=np.float64) / 16 * 255).astype(np.uint8)
        paths.append(str(tmp_path / f"digit{i}.png"))
        Image.fromarray(img).save(paths[-1])
    pr = _cli("predict", run, *paths, "--topk", "2")
    assert pr.returncode == 0, pr.stderr
    lines = pr.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(paths[0] + ": ")
    probs = [float(part.rsplit(" ", 2)[1]) for part in lines[0].split(": ", 1)[1].split(", ")]
    assert len(probs) == 2 and probs[0] >= probs[1] and 0 < sum(probs) <= 100.05
    su = _cli("summary", "--model", "lenet")
    assert su.returncode == 0, su.stderr
    assert "120,382" in su.stdout and "kept for backward" in su.stdout


def test_autoencoder_through_the_cli(tmp_path, capsys):
    rc = main(["train", "--model", "autoencoder", "--data", "digits", "--epochs", "1",
               "--limit-train", "200", "--out", str(tmp_path / "ae"), "--quiet"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "test MSE" in out and "predicting the mean image" in out
    results = json.load(open(tmp_path / "ae" / "results.json"))
    assert 0 < results["loss"] and 0 < results["mean_image_loss"]
    assert os.path.isfile(tmp_path / "ae" / "plots" / "reconstructions.png")
    assert main(["evaluate", str(tmp_path / "ae")]) == 0
    assert "test MSE" in capsys.readouterr().out
    assert main(["predict", str(tmp_path / "ae"), "x.png"]) == 1
    assert "needs a classifier" in capsys.readouterr().err


def test_plots_missing_matplotlib_still_trains(tmp_path, capsys, monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    rc = main(["train", *SHORT, "--limit-train", "100", "--out", str(tmp_path / "r"),
               "--quiet"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "pip install 'chainrule[plots]'" in out and "run directory:" in out
    assert not os.path.exists(tmp_path / "r" / "plots" / "curves.png")


# ------------------------------------------------------------------------ bad invocations
def _bad_fixtures(tmp_path, run):
    """Paths that the bad invocations below refer to."""
    f = {}
    f["empty_dir"] = tmp_path / "empty"
    f["empty_dir"].mkdir()
    f["bad_idx"] = tmp_path / "idx"
    f["bad_idx"].mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (f["bad_idx"] / name).write_bytes(b"this is not an IDX file at all")
    ckpt = os.path.join(run, "checkpoints", "last.ckpt")
    raw = open(ckpt, "rb").read()
    f["truncated"] = tmp_path / "truncated.ckpt"
    f["truncated"].write_bytes(raw[: len(raw) // 2])
    f["flipped"] = tmp_path / "flipped.ckpt"
    flipped = bytearray(raw)
    flipped[-100] ^= 0x40
    f["flipped"].write_bytes(bytes(flipped))
    f["weights_only"] = tmp_path / "weights.ckpt"
    cr.save({"w": cr.zeros(3)}, str(f["weights_only"]))
    # a checkpoint whose stored config names another model than the weights it holds
    state = cr.load(ckpt)
    config = json.loads(state["extra"]["config"])
    state["extra"]["config"] = json.dumps(dict(config, model="mlp"))
    f["mismatched"] = tmp_path / "mismatched.ckpt"
    cr.save(state, str(f["mismatched"]))
    f["text_png"] = tmp_path / "text.png"
    f["text_png"].write_text("not an image")
    f["a_file"] = tmp_path / "file"
    f["a_file"].write_text("x")
    f["no_config"] = tmp_path / "no_config"
    shutil.copytree(run, f["no_config"])
    os.remove(f["no_config"] / "config.json")
    f["bad_config"] = tmp_path / "bad_config"
    shutil.copytree(run, f["bad_config"])
    (f["bad_config"] / "config.json").write_text("{not json")
    return f


def _read_only_dir(tmp_path):
    """A folder this process cannot write in (a chmod-ed folder, or sysfs when run as root)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    os.chmod(folder, 0o555)
    for candidate in (str(folder), "/sys/chainrule-test"):
        try:
            os.makedirs(os.path.join(candidate, "probe"))
        except OSError:
            return os.path.join(candidate, "run")
        shutil.rmtree(os.path.join(candidate, "probe"))
    pytest.skip("no read-only folder available")


BAD = [  # (name, argv, exit status, text the one-line message contains)
    ("no command", [], 2, "required"),
    ("unknown command", ["fly"], 2, "invalid choice"),
    ("unknown flag", ["train", "--bogus"], 2, "unrecognized arguments: --bogus"),
    ("epochs not a number", ["train", "--epochs", "x"], 2, "--epochs: invalid positive"),
    ("zero epochs", ["train", "--epochs", "0"], 2, "must be at least 1, got 0"),
    ("negative lr", ["train", "--lr", "-1"], 2, "--lr: must be a positive number"),
    ("bad val fraction", ["train", "--val-fraction", "1.5"], 2, "must lie in [0, 1)"),
    ("unknown model", ["train", "--model", "vgg"], 2, "invalid choice: 'vgg'"),
    ("unknown optimizer", ["train", "--optimizer", "lbfgs"], 2, "invalid choice: 'lbfgs'"),
    ("data without dir", ["train", "--data", "mnist-idx"], 1, "needs --data-dir"),
    ("missing data dir", ["train", "--data", "mnist-idx", "--data-dir", "{tmp}/nowhere"], 1,
     "nowhere: no such folder"),
    ("empty data dir", ["train", "--data", "imagefolder", "--data-dir", "{empty_dir}"], 1,
     "no class sub-folders"),
    ("unreadable data", ["train", "--data", "mnist-idx", "--data-dir", "{bad_idx}"], 1,
     "bad magic number"),
    ("unknown class", ["train", "--data", "digits", "--classes", "3,cat"], 1,
     "unknown class 'cat'"),
    ("resume missing", ["train", "--resume", "{tmp}/nowhere"], 1, "no such file or folder"),
    ("resume truncated", ["train", "--resume", "{truncated}"], 1, "truncated.ckpt"),
    ("resume bit flip", ["train", "--resume", "{flipped}"], 1, "flipped.ckpt"),
    ("resume not a run", ["train", "--resume", "{weights_only}"], 1,
     "not a checkpoint of 'chainrule train'"),
    ("resume other model", ["train", "--resume", "{run}", "--model", "mlp"], 1,
     "trained with --model 'lenet'; it cannot change to 'mlp'"),
    ("resume mismatched", ["train", "--resume", "{mismatched}"], 1,
     "does not match the model: Error(s) in loading state_dict for MLP: Missing key(s)"),
    ("out is a file", ["train", "--data", "digits", "--out", "{a_file}"], 1,
     "not a folder"),
    ("out holds a run", ["train", "--data", "digits", "--out", "{run}"], 1,
     "already holds a run (metrics.jsonl); continue it with --resume"),
    ("read-only out", ["train", "--data", "digits", "--out", "{read_only}"], 1,
     "cannot write there"),
    ("evaluate missing run", ["evaluate", "{tmp}/nowhere"], 1, "no such folder"),
    ("evaluate no config", ["evaluate", "{no_config}"], 1, "config.json: not found"),
    ("evaluate bad config", ["evaluate", "{bad_config}"], 1, "not valid JSON"),
    ("evaluate bad checkpoint", ["evaluate", "{run}", "--checkpoint", "{truncated}"], 1,
     "truncated.ckpt"),
    ("predict missing image", ["predict", "{run}", "{tmp}/none.png"], 1, "no such file"),
    ("predict not an image", ["predict", "{run}", "{text_png}"], 1, "cannot read it as an image"),
    ("predict bad topk", ["predict", "{run}", "{text_png}", "--topk", "0"], 2,
     "must be at least 1"),
    ("summary unknown model", ["summary", "--model", "vgg"], 2, "invalid choice"),
]


@pytest.fixture(scope="module")
def bad_fixtures(runs, tmp_path_factory):
    base, _ = runs
    tmp = tmp_path_factory.mktemp("bad")
    f = _bad_fixtures(tmp, str(base / "a"))
    f.update(tmp=tmp, run=base / "a", read_only=_read_only_dir(tmp))
    return f


@pytest.mark.parametrize("name,argv,status,text", BAD, ids=[b[0] for b in BAD])
def test_bad_invocation_is_one_clear_line(bad_fixtures, capsys, name, argv, status, text):
    argv = [a.format(**bad_fixtures) for a in argv]
    assert main(argv) == status
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err and "\n" not in err, err
    assert "Traceback" not in err and text in err, err


def test_bad_invocations_in_a_real_process(bad_fixtures):
    """The exit status and the single stderr line also hold for the installed entry point."""
    for argv, status in ((["train", "--epochs", "0"], 2),
                         (["train", "--resume", str(bad_fixtures["truncated"])], 1)):
        proc = _cli(*argv)
        assert proc.returncode == status
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_debug_shows_the_traceback():
    with pytest.raises(ValueError, match="needs --data-dir"):
        main(["train", "--data", "mnist-idx", "--debug"])


def test_explain_and_demo_are_subcommands(capsys):
    from chainrule.cli import build_parser
    args = build_parser().parse_args(["explain", "--index", "3", "--train-steps", "0"])
    assert args.fn.__name__ == "_explain" and args.index == 3 and args.train_steps == 0
    assert main(["demo", "--steps", "60"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("step   59  loss ")


def test_ctrl_c_saves_a_checkpoint_that_resumes(tmp_path):
    import signal
    run = tmp_path / "r"
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "chainrule", "train", "--data", "digits",
                             "--model", "mlp", "--epochs", "200", "--no-plots", "--out",
                             str(run)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    for line in proc.stdout:                 # wait until training is under way
        if line.startswith("epoch 1/200  batch"):
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and len(err.strip().splitlines()) == 1
    state = cr.load(str(run / "checkpoints" / "last.ckpt"))
    done = int(state["position"]["step"])
    assert 0 < done < 200 * 41
    assert len(_steps(run)) == done           # the log ends where the checkpoint does


def test_train_diagnose_writes_the_report(tmp_path, capsys):
    rc = main(["train", *SHORT, "--no-plots", "--quiet", "--diagnose", "--out",
               str(tmp_path / "ok"), "--stop-after-steps", "6"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "Diagnostics over 6 recorded backward pass(es)." in out
    text = (tmp_path / "ok" / "diagnosis.txt").read_text()
    report = json.load(open(tmp_path / "ok" / "diagnosis.json"))
    assert report["steps"] == 6 and len(report["layers"]) >= 5
    assert report["ok"] == (report["verdicts"] == [])
    if report["ok"]:
        assert "No problems found" in text
    for v in report["verdicts"]:
        assert f"[{v['kind']}]" in text and v["fix"]
    assert [r["layer"] for r in report["layers"]][0] == "features.0"      # LeNet's first conv
    # a run that diverges still leaves its diagnosis, which says why
    rc = main(["train", "--data", "digits", "--model", "mlp", "--optimizer", "sgd", "--lr", "1e6",
               "--grad-clip", "0", "--scheduler", "none", "--epochs", "1", "--limit-train",
               "200", "--limit-test", "32", "--no-plots", "--quiet", "--diagnose", "--out",
               str(tmp_path / "bad")])
    assert rc == 1 and "non-finite loss" in capsys.readouterr().err
    report = json.load(open(tmp_path / "bad" / "diagnosis.json"))
    kinds = {v["kind"] for v in report["verdicts"]}
    assert "lr_too_high" in kinds and "exploding_gradients" in kinds
    assert "[lr_too_high]" in (tmp_path / "bad" / "diagnosis.txt").read_text()
    # the diagnostics are not part of checkpoints: the run resumes without --diagnose
    assert main(["train", "--resume", str(tmp_path / "ok"), "--quiet"]) == 0
    assert "test accuracy" in capsys.readouterr().out


# ------------------------------------------------------------------ language models
def test_language_model_train_and_generate_through_the_cli(tmp_path, capsys):
    run = str(tmp_path / "lm")
    assert main(["train", "--model", "char-lstm", "--steps", "4", "--eval-interval", "2",
                 "--batch-size", "4", "--block-size", "16", "--out", run, "--quiet"]) == 0
    for name in ("config.json", "vocab.json", "metrics.jsonl", "checkpoints/best.ckpt"):
        assert os.path.exists(os.path.join(run, name)), name
    capsys.readouterr()
    texts = []
    for seed in (1, 1, 2):
        assert main(["generate", run, "--prompt", "ROMEO:", "--length", "30",
                     "--seed", str(seed)]) == 0
        texts.append(capsys.readouterr().out.rstrip("\n"))
    assert all(t.startswith("ROMEO:") and len(t) == len("ROMEO:") + 30 for t in texts)
    assert texts[0] == texts[1] != texts[2]


@pytest.mark.parametrize("argv,expected", [
    (["train", "--model", "char-lstm", "--epochs", "2"], "--epochs do not apply"),
    (["train", "--data", "shakespeare", "--model", "lenet"],
     "needs a language model: --model char-transformer or char-lstm (got lenet)"),
    (["train", "--model", "char-transformer", "--data", "digits"], "trains on --data shakespeare"),
    (["train", "--steps", "3"], "only apply to the language models"),
    (["train", "--model", "char-lstm", "--resume", "x"], "not available for --model char-lstm"),
])
def test_language_model_bad_invocations(argv, expected, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_generate_from_a_missing_run(tmp_path, capsys):
    assert main(["generate", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert "no such folder" in err and len(err.strip().splitlines()) == 1
