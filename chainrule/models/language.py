"""Character-level language models: ``CharLSTM`` (a 2-layer LSTM) and ``CharTransformer`` (a
small decoder-only transformer), and ``generate``, a seeded temperature / top-k sampler.

Both models map character ids ``(N, T)`` (int64) to next-character logits ``(N, T, V)``; position
``t`` of the output predicts character ``t + 1``. Train them with the cross-entropy of the
flattened logits, e.g. ``F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))``, which
is the loss in nats per character.

    >>> from chainrule.datasets.text import CharVocab
    >>> vocab = CharVocab("to be or not to be")
    >>> model = CharTransformer(len(vocab), block_size=16, d_model=32, n_layers=1, n_heads=2)
    >>> generate(model, "to ", length=20, vocab=vocab, seed=0)     # 'to ' + 20 characters
"""
import numpy as np

from .. import random as _random
from ..autograd import no_grad
from ..nn import (GELU, LSTM, Dropout, Embedding, LayerNorm, Linear, Module, ModuleList,
                  TransformerEncoderLayer)
from ..ops import arange, full, triu
from ..tensor import Tensor

__all__ = ["CharLSTM", "CharTransformer", "generate", "count_parameters"]


def count_parameters(model):
    """The number of distinct trainable scalars of ``model`` (a tied weight counts once:
    ``parameters()`` yields each Parameter once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _check_ids(idx, name):
    if not isinstance(idx, Tensor):
        raise TypeError(f"{name}: expected an int64 Tensor of character ids (N, T), got "
                        f"{type(idx).__name__}")
    if idx.ndim != 2:
        raise ValueError(f"{name}: expected character ids of shape (N, T), got shape "
                         f"{tuple(idx.shape)}")
    if idx.dtype.is_floating_point:
        raise TypeError(f"{name}: expected integer character ids, got dtype {idx.dtype}")


class CharLSTM(Module):
    """Character-level LSTM language model: embedding -> multi-layer LSTM -> linear head.

    Args:
        vocab_size: number of distinct characters V.
        embed_dim: size of the character embedding (default 64).
        hidden_size: LSTM hidden size H (default 384).
        num_layers: stacked LSTM layers (default 2).
        dropout: dropout between LSTM layers and before the head (default 0.25: on the
            Shakespeare plays a model this size starts to overfit within ten minutes).

    Shape:
        - idx: ``(N, T)`` int64 character ids.
        - output: logits ``(N, T, V)``; with ``return_state=True`` also the LSTM state
          ``(h, c)``, each ``(num_layers, N, H)``, to continue the sequence later.

    Parameters: ``V*E + 4H(E + H + 2) + 4H(2H + 2) * (num_layers - 1) + (H + 1)V``; with the
    defaults and the 76-character Shakespeare vocabulary, 1,908,044 (E=64, H=384, 2 layers).

    Example:
        >>> model = CharLSTM(76)
        >>> model(chainrule.randint(0, 76, (4, 32))).shape
        chainrule.Size([4, 32, 76])
    """

    def __init__(self, vocab_size, embed_dim=64, hidden_size=384, num_layers=2, dropout=0.25):
        super().__init__()
        if vocab_size < 1 or embed_dim < 1 or hidden_size < 1 or num_layers < 1:
            raise ValueError(f"CharLSTM: vocab_size, embed_dim, hidden_size and num_layers must "
                             f"be positive, got {vocab_size}, {embed_dim}, {hidden_size}, "
                             f"{num_layers}")
        self.vocab_size, self.block_size = vocab_size, None       # any length
        self.embed = Embedding(vocab_size, embed_dim)
        self.lstm = LSTM(embed_dim, hidden_size, num_layers, batch_first=True,
                         dropout=dropout if num_layers > 1 else 0.0)
        self.drop = Dropout(dropout)
        self.head = Linear(hidden_size, vocab_size)

    def forward(self, idx, state=None, return_state=False):
        _check_ids(idx, "CharLSTM")
        out, state = self.lstm(self.embed(idx), state)
        logits = self.head(self.drop(out))
        return (logits, state) if return_state else logits

    def step(self, idx, state=None):
        """Logits ``(N, V)`` of the character after ``idx`` ``(N, T)``, and the new state: only
        the ids not yet seen need be fed (the state carries the rest)."""
        logits, state = self(idx, state, return_state=True)
        return logits[:, -1], state


class CharTransformer(Module):
    """A small decoder-only (GPT-style) character transformer.

    Token embedding + learned positional embedding, then ``n_layers`` pre-norm blocks, each
    ``x + causal multi-head self-attention(LayerNorm(x))`` followed by
    ``x + MLP(LayerNorm(x))`` with a GELU MLP of width ``4 * d_model`` (the blocks are
    ``nn.TransformerEncoderLayer(norm_first=True)`` called with the causal mask), a final
    LayerNorm and a linear head to the vocabulary.

    The GELU is the tanh approximation: it is the same curve to within 1e-3 and, on the NumPy
    engine, several times cheaper than the exact (erf) form, which dominated the step time.
    The head is untied by default; ``tie_weights=True`` shares the embedding matrix with the
    head (saving ``V * d_model`` parameters; the head keeps its own bias).

    Args:
        vocab_size: number of distinct characters V.
        block_size: the longest context T_max (positional embeddings learned for each).
        d_model: width D (default 128).
        n_layers: transformer blocks (default 4).
        n_heads: attention heads; must divide d_model (default 4).
        dropout: dropout on embeddings, attention weights and residual branches (default 0.0).
        tie_weights: share the token embedding with the output head (default False).

    Shape:
        - idx: ``(N, T)`` int64 character ids with ``T <= block_size``.
        - output: logits ``(N, T, V)``; position t attends to positions ``<= t`` only.

    Parameters: ``(V + T_max) D + n_layers (12 D^2 + 13 D) + 2 D + (D + 1) V`` untied; with the
    defaults, ``block_size=128`` and V=76: 829,260 (819,532 with tied weights).

    Example:
        >>> model = CharTransformer(76, block_size=64)
        >>> model(chainrule.randint(0, 76, (4, 64))).shape
        chainrule.Size([4, 64, 76])
    """

    def __init__(self, vocab_size, block_size=128, d_model=128, n_layers=4, n_heads=4,
                 dropout=0.0, tie_weights=False):
        super().__init__()
        if vocab_size < 1 or block_size < 1 or d_model < 1 or n_layers < 1 or n_heads < 1:
            raise ValueError(f"CharTransformer: vocab_size, block_size, d_model, n_layers and "
                             f"n_heads must be positive, got {vocab_size}, {block_size}, "
                             f"{d_model}, {n_layers}, {n_heads}")
        if d_model % n_heads:
            raise ValueError(f"CharTransformer: n_heads ({n_heads}) must divide d_model "
                             f"({d_model})")
        self.vocab_size, self.block_size = vocab_size, block_size
        self.tok_embed = Embedding(vocab_size, d_model)
        self.pos_embed = Embedding(block_size, d_model)
        self.drop = Dropout(dropout)
        self.blocks = ModuleList([
            TransformerEncoderLayer(d_model, n_heads, 4 * d_model, dropout,
                                    activation=GELU(approximate="tanh"), batch_first=True,
                                    norm_first=True)
            for _ in range(n_layers)])
        self.norm = LayerNorm(d_model)
        self.head = Linear(d_model, vocab_size)
        self.tie_weights = tie_weights
        self._reset_parameters()
        if tie_weights:
            self.head.weight = self.tok_embed.weight
        self._masks = {}

    def _reset_parameters(self):
        from ..nn import init
        # small embeddings (as GPT-2): N(0, 1) rows would swamp the residual stream at the start
        for emb in (self.tok_embed, self.pos_embed):
            init.normal_(emb.weight, std=0.02)

    def _causal_mask(self, t):
        if t not in self._masks:
            # float (T, T): 0 where key j <= query i, -inf above the diagonal
            self._masks[t] = triu(full((t, t), float("-inf")), 1)
        return self._masks[t]

    def forward(self, idx):
        _check_ids(idx, "CharTransformer")
        t = idx.shape[1]
        if t > self.block_size:
            raise ValueError(f"CharTransformer: sequence of {t} characters is longer than "
                             f"block_size {self.block_size}")
        x = self.drop(self.tok_embed(idx) + self.pos_embed(arange(t)))
        mask = self._causal_mask(t)
        for block in self.blocks:
            x = block(x, src_mask=mask, is_causal=True)
        return self.head(self.norm(x))

    def step(self, idx, state=None):
        """Logits ``(N, V)`` of the character after ``idx`` ``(N, T)``; ``state`` is unused
        (the whole context, cropped to ``block_size``, is run again each time)."""
        return self(idx[:, -self.block_size:])[:, -1], None


# ------------------------------------------------------------------------------- sampling
def _prompt_ids(prompt, vocab):
    if isinstance(prompt, str):
        if vocab is None:
            raise ValueError("generate: a text prompt needs vocab= (a CharVocab) to encode it")
        return vocab.encode(prompt)
    if isinstance(prompt, Tensor):
        prompt = prompt.data
    ids = np.asarray(prompt)
    if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)):
        raise ValueError(f"generate: prompt must be text or a 1-d sequence of character ids, "
                         f"got shape {ids.shape} and dtype {ids.dtype}")
    return ids.astype(np.int64)


def _generator(generator, seed):
    if generator is not None and seed is not None:
        raise ValueError("generate: pass generator= or seed=, not both")
    if seed is not None:
        return _random.Generator().manual_seed(seed)
    return generator or _random.default_generator


def sample_next(logits, temperature=1.0, top_k=None, generator=None):
    """Draw one id from ``logits`` (a 1-d array of V scores).

    ``temperature`` divides the logits (``0`` picks the argmax); ``top_k`` keeps only the k
    highest logits (``1`` is the argmax too). Draws one uniform number from ``generator``'s
    stream for every non-greedy sample, so a seeded generator repeats the same choices.
    """
    logits = np.asarray(logits, dtype=np.float64).reshape(-1)
    if temperature == 0 or top_k == 1:
        return int(np.argmax(logits))
    z = logits / temperature
    if top_k is not None and top_k < z.size:
        kth = np.partition(z, -top_k)[-top_k]
        z = np.where(z >= kth, z, -np.inf)
    p = np.exp(z - z.max())
    cdf = np.cumsum(p)
    u = _random._rng(generator).random() * cdf[-1]
    return int(min(np.searchsorted(cdf, u, side="right"), z.size - 1))


def generate(model, prompt, length, temperature=1.0, top_k=None, generator=None, seed=None,
             vocab=None):
    """Continue ``prompt`` by ``length`` characters sampled from ``model``.

    Args:
        model: a ``CharLSTM`` or ``CharTransformer`` (anything with ``step(idx, state)``).
        prompt: the start, as text (needs ``vocab``) or a 1-d sequence of ids (at least one).
        length: how many characters to add.
        temperature: > 0 divides the logits (below 1: more conservative); 0: greedy.
        top_k: sample among the k most likely characters only (None: all; 1: greedy).
        generator: a ``chainrule.Generator`` to draw from; or ``seed``: an int seeding a new
            one (the same seed gives the same text). Default: chainrule's default generator.
        vocab: the ``CharVocab`` that encodes a text prompt and decodes the result.

    Returns:
        str (prompt + continuation) when ``prompt`` is text; otherwise an int64 Tensor
        ``(len(prompt) + length,)`` of ids.

    The model runs in eval mode without gradients (its training flag is restored after).
    """
    if length < 0:
        raise ValueError(f"generate: length must not be negative, got {length}")
    if not temperature >= 0:
        raise ValueError(f"generate: temperature must be >= 0, got {temperature}")
    if top_k is not None and (int(top_k) != top_k or top_k < 1):
        raise ValueError(f"generate: top_k must be a positive integer or None, got {top_k}")
    ids = _prompt_ids(prompt, vocab)
    if ids.size == 0:
        raise ValueError("generate: the prompt must hold at least one character")
    vocab_size = getattr(model, "vocab_size", None)
    if vocab_size is not None and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"generate: prompt ids must be in [0, {vocab_size}), got "
                         f"{ids.min()}..{ids.max()}")
    gen = _generator(generator, seed)
    out = list(ids.tolist())
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            feed, state = ids, None
            for _ in range(length):
                logits, state = model.step(Tensor._make(feed[None]), state)
                nxt = sample_next(logits.data[0], temperature, top_k, gen)
                out.append(nxt)
                # a recurrent model carries its state, so it needs only the new id
                feed = np.asarray([nxt]) if state is not None else \
                    np.asarray(out[-(model.block_size or len(out)):], dtype=np.int64)
    finally:
        model.train(was_training)
    if isinstance(prompt, str):
        return vocab.decode(out)
    return Tensor._make(np.asarray(out, dtype=np.int64))
