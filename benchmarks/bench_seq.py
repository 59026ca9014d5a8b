"""Sequence-model training steps, chainrule vs torch in one process: medians and ratios.

    python benchmarks/bench_seq.py [--repeats 7] [--only lstm|transformer]

* lstm: a 2-layer LSTM character LM (vocab 65, embed 128, hidden 256, seq 64, batch 32);
* transformer: a 2-layer transformer encoder (d_model 128, 4 heads, seq 64, batch 32, causal
  mask, dim_feedforward 512) with an embedding and an output head.

One step = forward, cross-entropy, backward, SGD update. Both libraries start from the same
weights; the two are timed alternately so machine load affects both alike. Medians and minima
are printed (on a shared machine the minimum is the steadier figure).
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import chainrule as cr  # noqa: E402

VOCAB, EMBED, HIDDEN, SEQ, BATCH = 65, 128, 256, 64, 32
D_MODEL, HEADS, LAYERS, FF = 128, 4, 2, 512


def lstm_lm(lib):
    nn = lib.nn

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(VOCAB, EMBED)
            self.rnn = nn.LSTM(EMBED, HIDDEN, 2, batch_first=True)
            self.head = nn.Linear(HIDDEN, VOCAB)

        def forward(self, x):
            return self.head(self.rnn(self.emb(x))[0])
    return LM()


def transformer_lm(lib):
    nn = lib.nn

    class TLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(VOCAB, D_MODEL)
            layer = nn.TransformerEncoderLayer(D_MODEL, HEADS, FF, dropout=0.0, batch_first=True)
            self.enc = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
            self.head = nn.Linear(D_MODEL, VOCAB)
            self.mask = nn.Transformer.generate_square_subsequent_mask(SEQ)

        def forward(self, x):
            return self.head(self.enc(self.emb(x), mask=self.mask, is_causal=True))
    return TLM()


def make_step(lib, model, x, y):
    opt = lib.optim.SGD(model.parameters(), lr=0.01)
    F = lib.nn.functional

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x).reshape(-1, VOCAB), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss
    return step


def bench(name, build, repeats):
    torch.manual_seed(0)
    t_model = build(torch)
    c_model = build(cr)
    c_model.load_state_dict({k: v.detach().numpy() for k, v in t_model.state_dict().items()})
    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCAB, (BATCH, SEQ))
    y = rng.integers(0, VOCAB, (BATCH, SEQ))
    t_step = make_step(torch, t_model, torch.tensor(x), torch.tensor(y))
    c_step = make_step(cr, c_model, cr.tensor(x), cr.tensor(y))
    l_t, l_c = float(t_step().detach()), float(c_step().detach())
    assert abs(l_t - l_c) < 1e-3 * max(1.0, abs(l_t)), f"{name}: losses differ {l_t} vs {l_c}"
    times = {"torch": [], "chainrule": []}
    for _ in range(repeats):
        for lib, step in (("torch", t_step), ("chainrule", c_step)):
            t0 = time.perf_counter()
            step()
            times[lib].append(time.perf_counter() - t0)
    for stat in ("median", "min"):
        f = statistics.median if stat == "median" else min
        t_ms, c_ms = f(times["torch"]) * 1e3, f(times["chainrule"]) * 1e3
        print(f"{name:12s} {stat:6s} torch {t_ms:8.1f} ms   chainrule {c_ms:8.1f} ms   "
              f"ratio {c_ms / t_ms:5.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--only", choices=("lstm", "transformer"))
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; numpy {np.__version__}")
    if args.only in (None, "lstm"):
        bench("lstm-lm", lstm_lm, args.repeats)
    if args.only in (None, "transformer"):
        bench("transformer", transformer_lm, args.repeats)


if __name__ == "__main__":
    main()
