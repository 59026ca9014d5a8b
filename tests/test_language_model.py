"""Character-level language models (chainrule.models.language) and their training run
(chainrule.training.language): the forward pass against the same network built from torch.nn
layers with copied weights, parameter counts, causality, overfitting a short text, the seeded
temperature / top-k sampler, and the run directory round trip.

nn.LSTM, nn.MultiheadAttention and scaled_dot_product_attention themselves are compared with
torch in tests/test_nn_rnn.py and tests/opinfo/nn_attention.py; they are not repeated here."""
import json
import math

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import optim
from chainrule.datasets.text import CharVocab
from chainrule.models import MODELS, get_model
from chainrule.models.language import (CharLSTM, CharTransformer, count_parameters, generate,
                                       sample_next)
from chainrule.nn import functional as F
from chainrule.training.language import (LanguageConfig, generate_from_run, learning_rate,
                                         load_language_run, train_language_model,
                                         validation_loss)

TEXT = "to be, or not to be: that is the question.\n" * 3


def _unigram_entropy(text):
    counts = np.unique(list(text), return_counts=True)[1]
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


class _TorchTransformer(torch.nn.Module):
    """The same network from torch.nn layers (the submodule names match CharTransformer's)."""

    def __init__(self, vocab, block, d, layers, heads):
        super().__init__()
        self.tok_embed = torch.nn.Embedding(vocab, d)
        self.pos_embed = torch.nn.Embedding(block, d)
        gelu = torch.nn.GELU(approximate="tanh")
        self.blocks = torch.nn.ModuleList([
            torch.nn.TransformerEncoderLayer(d, heads, 4 * d, 0.0, activation=gelu,
                                             batch_first=True, norm_first=True)
            for _ in range(layers)])
        self.norm = torch.nn.LayerNorm(d)
        self.head = torch.nn.Linear(d, vocab)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tok_embed(idx) + self.pos_embed(torch.arange(t))
        mask = torch.nn.Transformer.generate_square_subsequent_mask(t)
        for block in self.blocks:
            x = block(x, src_mask=mask, is_causal=True)
        return self.head(self.norm(x))


class _TorchLSTM(torch.nn.Module):
    def __init__(self, vocab, e, h, layers):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, e)
        self.lstm = torch.nn.LSTM(e, h, layers, batch_first=True)
        self.head = torch.nn.Linear(h, vocab)

    def forward(self, idx):
        return self.head(self.lstm(self.embed(idx))[0])


def _copy_weights(ours, theirs):
    theirs.load_state_dict({k: torch.tensor(np.asarray(v.data))
                            for k, v in ours.state_dict().items()})


@pytest.mark.parametrize("kind", ["transformer", "lstm"])
def test_forward_and_gradients_match_torch(kind):
    if kind == "transformer":
        ours, theirs = CharTransformer(11, 8, d_model=16, n_layers=2, n_heads=4), \
            _TorchTransformer(11, 8, 16, 2, 4)
    else:
        ours, theirs = CharLSTM(11, embed_dim=6, hidden_size=10, dropout=0.0), \
            _TorchLSTM(11, 6, 10, 2)
    _copy_weights(ours, theirs)
    idx = np.random.default_rng(1).integers(0, 11, size=(3, 8))
    tgt = np.random.default_rng(2).integers(0, 11, size=(3, 8))
    logits = ours(cr.tensor(idx))
    assert tuple(logits.shape) == (3, 8, 11)
    t_logits = theirs(torch.tensor(idx))
    np.testing.assert_allclose(logits.data, t_logits.detach().numpy(), rtol=1e-4, atol=1e-5)
    F.cross_entropy(logits.reshape(-1, 11), cr.tensor(tgt).reshape(-1)).backward()
    torch.nn.functional.cross_entropy(t_logits.reshape(-1, 11),
                                      torch.tensor(tgt).reshape(-1)).backward()
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.data, t_params[name].grad.numpy(), rtol=1e-3,
                                   atol=1e-6, err_msg=name)


def test_parameter_counts_match_docstrings_and_torch():
    assert count_parameters(CharTransformer(76)) == 829_260
    assert count_parameters(CharTransformer(76, tie_weights=True)) == 819_532
    assert count_parameters(CharLSTM(76)) == 1_908_044
    torch_t = sum(p.numel() for p in _TorchTransformer(76, 128, 128, 4, 4).parameters())
    torch_l = sum(p.numel() for p in _TorchLSTM(76, 64, 256, 2).parameters())
    assert (torch_t, torch_l) == (829_260, 880_460)
    assert MODELS["char-transformer"] is CharTransformer
    assert isinstance(get_model("char-lstm", vocab_size=5), CharLSTM)


def test_transformer_is_causal_and_checks_its_input():
    model = CharTransformer(7, 6, d_model=8, n_layers=1, n_heads=2)
    a = cr.tensor([[1, 2, 3, 4, 5, 6]])
    b = cr.tensor([[1, 2, 3, 0, 0, 0]])
    np.testing.assert_allclose(model(a).data[:, :3], model(b).data[:, :3], rtol=1e-6)
    assert not np.allclose(model(a).data[:, 3:], model(b).data[:, 3:])
    with pytest.raises(ValueError, match="longer than block_size 6"):
        model(cr.zeros(1, 7, dtype=cr.int64))
    with pytest.raises(ValueError, match=r"shape \(N, T\)"):
        model(cr.zeros(7, dtype=cr.int64))
    with pytest.raises(ValueError, match="n_heads"):
        CharTransformer(7, 6, d_model=10, n_heads=3)


def test_tied_head_shares_the_embedding():
    model = CharTransformer(9, 4, d_model=8, n_layers=1, n_heads=2, tie_weights=True)
    assert model.head.weight is model.tok_embed.weight
    F.cross_entropy(model(cr.tensor([[1, 2, 3]])).reshape(-1, 9), cr.tensor([2, 3, 4])).backward()
    assert model.tok_embed.weight.grad is not None


@pytest.mark.parametrize("kind", ["transformer", "lstm"])
def test_tiny_model_overfits_a_short_text(kind):
    vocab = CharVocab(TEXT)
    v = len(vocab)
    ids = vocab.encode(TEXT)
    block = 16
    starts = np.arange(0, len(ids) - block, 3)
    x = cr.tensor(ids[starts[:, None] + np.arange(block)])
    y = cr.tensor(ids[starts[:, None] + np.arange(1, block + 1)])
    model = CharTransformer(v, block, d_model=32, n_layers=1, n_heads=2) if kind == \
        "transformer" else CharLSTM(v, embed_dim=16, hidden_size=48, num_layers=2, dropout=0.0)
    opt = optim.Adam(model.parameters(), lr=1e-2 if kind == "transformer" else 2e-2)
    first = None
    for _ in range(60):
        loss = F.cross_entropy(model(x).reshape(-1, v), y.reshape(-1))
        first = first if first is not None else float(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    final = float(loss.item())
    unigram = _unigram_entropy(TEXT)
    assert first > 0.8 * unigram          # starts near chance
    assert final < 0.25 * unigram, (first, final, unigram)
    # the memorised text comes back greedily from a short prompt
    out = generate(model, "to be, or", 30, top_k=1, vocab=vocab)
    assert out == TEXT[:39]


def test_sampling_is_reproducible_with_a_seed_and_differs_across_seeds():
    model = CharTransformer(20, 16, d_model=16, n_layers=1, n_heads=2)
    a = generate(model, [1, 2, 3], 40, seed=7)
    b = generate(model, [1, 2, 3], 40, seed=7)
    c = generate(model, [1, 2, 3], 40, seed=8)
    assert a.tolist() == b.tolist()
    assert a.tolist()[:3] == [1, 2, 3] and len(a) == 43
    assert a.tolist() != c.tolist()
    g = cr.Generator().manual_seed(7)
    assert generate(model, [1, 2, 3], 40, generator=g).tolist() == a.tolist()
    lstm = CharLSTM(20, embed_dim=4, hidden_size=8)
    assert generate(lstm, [5], 30, seed=1).tolist() == generate(lstm, [5], 30, seed=1).tolist()
    assert model.training                 # generate restores the training flag


def _greedy_reference(model, ids, length):
    """Greedy decoding by running the whole (cropped) sequence each step, with argmax."""
    ids = list(ids)
    for _ in range(length):
        ctx = ids[-model.block_size:] if model.block_size else ids
        with cr.no_grad():
            logits = model.eval()(cr.tensor([ctx])).data[0, -1]
        ids.append(int(np.argmax(logits)))
    return ids


@pytest.mark.parametrize("kind", ["transformer", "lstm"])
def test_top_k_one_and_zero_temperature_are_greedy(kind):
    model = CharTransformer(13, 8, d_model=16, n_layers=1, n_heads=2) if kind == \
        "transformer" else CharLSTM(13, embed_dim=4, hidden_size=8)
    # 20 characters with block_size 8: the transformer's context window slides
    expected = _greedy_reference(model, [3, 1], 20)
    assert generate(model, [3, 1], 20, top_k=1, seed=0).tolist() == expected
    assert generate(model, [3, 1], 20, top_k=1, seed=99).tolist() == expected
    assert generate(model, [3, 1], 20, temperature=0, seed=5).tolist() == expected


def test_sample_next_follows_temperature_and_top_k():
    logits = np.array([2.0, 1.0, 0.5, 0.0, -1.0])
    n = 5000
    for temperature, top_k in ((1.0, None), (0.5, None), (2.0, 3)):
        g = cr.Generator().manual_seed(3)
        draws = np.array([sample_next(logits, temperature, top_k, g) for _ in range(n)])
        t_logits = torch.tensor(logits) / temperature
        if top_k is not None:
            kth = torch.topk(t_logits, top_k).values[-1]
            t_logits = t_logits.masked_fill(t_logits < kth, -math.inf)
        expected = torch.softmax(t_logits, 0).numpy()
        freq = np.bincount(draws, minlength=5) / n
        np.testing.assert_allclose(freq, expected, atol=0.025)
        if top_k is not None:
            assert set(draws.tolist()) == {0, 1, 2}
    assert sample_next(logits, 1.0, 1, cr.Generator()) == 0
    assert sample_next(-logits, 0.0, None, cr.Generator()) == 4


def test_generate_errors():
    model = CharLSTM(5, embed_dim=2, hidden_size=3)
    with pytest.raises(ValueError, match="needs vocab"):
        generate(model, "ab", 3)
    with pytest.raises(ValueError, match="at least one character"):
        generate(model, [], 3)
    with pytest.raises(ValueError, match="temperature"):
        generate(model, [1], 3, temperature=-1)
    with pytest.raises(ValueError, match="top_k"):
        generate(model, [1], 3, top_k=0)
    with pytest.raises(ValueError, match=r"prompt ids must be in \[0, 5\)"):
        generate(model, [7], 3)
    with pytest.raises(ValueError, match="not both"):
        generate(model, [1], 3, seed=1, generator=cr.Generator())


def test_run_directory_round_trip(tmp_path):
    out = str(tmp_path / "run")
    text = TEXT * 4
    lines = []
    result = train_language_model(
        text=text, out=out, model="char-transformer", steps=12, block_size=16, batch_size=8,
        eval_interval=6, eval_windows=16, warmup_steps=2, lr=5e-3, sample_length=20,
        sample_prompt="to ", model_args={"d_model": 16, "n_layers": 1, "n_heads": 2},
        log=lines.append)
    assert result["steps"] == 12 and [r["step"] for r in result["history"]] == [6, 12]
    assert result["val_loss"] < math.log(len(set(text)))     # it learned something
    assert result["sample"].startswith("to ") and len(result["sample"]) == 23
    config = json.load(open(tmp_path / "run" / "config.json"))
    assert config["model"] == "char-transformer" and config["steps"] == 12
    assert json.load(open(tmp_path / "run" / "vocab.json"))["chars"] == "".join(sorted(set(text)))
    records = [json.loads(line) for line in open(tmp_path / "run" / "metrics.jsonl")]
    assert [r["step"] for r in records if r["event"] == "val"] == [6, 12]
    assert [r["step"] for r in records if r["event"] == "step"] == [10]
    assert "validation loss" in lines[-1]

    cfg, vocab, model = load_language_run(out, checkpoint="last")
    assert isinstance(cfg, LanguageConfig) and isinstance(model, CharTransformer)
    assert not model.training
    # the reloaded weights give exactly the validation loss recorded at the last step
    from chainrule.training.language import _splits, _val_indices
    _, _, val_set = _splits(text, cfg)
    loss = validation_loss(model, val_set, _val_indices(val_set, cfg.eval_windows), 8)
    assert loss == pytest.approx(result["history"][-1]["val_loss"], rel=1e-6)

    a = generate_from_run(out, "to ", 25, seed=4, checkpoint="last")
    assert a == generate_from_run(out, "to ", 25, seed=4, checkpoint="last")
    assert a.startswith("to ") and len(a) == 28
    assert generate_from_run(out, "to ", 10, top_k=1) == \
        generate(load_language_run(out)[2], "to ", 10, top_k=1, vocab=vocab)
    with pytest.raises(ValueError, match=r"lacks: \['Z'\]"):
        generate_from_run(out, "Zo", 5)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        load_language_run(str(tmp_path / "missing"))


def test_config_validation(tmp_path):
    with pytest.raises(ValueError, match="--model must be one of"):
        LanguageConfig(model="lenet").validate()
    with pytest.raises(ValueError, match="--block-size must be at least 1"):
        LanguageConfig(block_size=0).validate()
    with pytest.raises(ValueError, match="unknown language-model setting"):
        LanguageConfig.from_dict({"epochs": 3})
    with pytest.raises(ValueError, match="not more than block_size"):
        train_language_model(text="abcdefgh" * 3, block_size=16, steps=1,
                             out=str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


def test_learning_rate_warms_up_then_decays_by_step_or_by_time():
    c = LanguageConfig(lr=1e-2, min_lr=1e-3, warmup_steps=10, steps=110)
    assert learning_rate(c, 0) == pytest.approx(1e-3)
    assert learning_rate(c, 9) == pytest.approx(1e-2)
    assert learning_rate(c, 60) == pytest.approx(5.5e-3)      # half way through the cosine
    assert learning_rate(c, 110) == pytest.approx(1e-3)
    timed = c.replace(time_limit=100.0)
    assert learning_rate(timed, 20, elapsed=50.0) == pytest.approx(5.5e-3)   # half the time
    assert learning_rate(timed, 20, elapsed=1.0) == learning_rate(c, 20)
    assert learning_rate(timed, 20, elapsed=500.0) == pytest.approx(1e-3)
