"""MultiheadAttention (torch's parameters, layout and masks)."""
from .linear import Linear
from .module import Module
from .. import functional as F
from .. import init
from ..parameter import Parameter

__all__ = ["MultiheadAttention"]


def _empty(*shape, device=None, dtype=None):
    from ... import empty
    return empty(*shape, dtype=dtype, device=device)


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear (torch names MultiheadAttention's output projection with this class)."""


class MultiheadAttention(Module):
    r"""Multi-head attention: :math:`\mathrm{Concat}(head_1, ..., head_h) W^O` with
    :math:`head_i = \mathrm{Attention}(Q W_i^Q, K W_i^K, V W_i^V)`.

    Args:
        embed_dim: model dimension E (split into ``num_heads`` heads of E / num_heads).
        num_heads: parallel attention heads; must divide embed_dim.
        dropout: dropout on the attention weights (training only).
        bias: biases on the input and output projections.
        add_bias_kv: learn a bias key and value appended to the key/value sequences.
        add_zero_attn: append a zero key and value to the sequences.
        kdim, vdim: features of key and value (default embed_dim); when either differs, the
            projections are separate ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight``.
        batch_first: inputs and output are (N, L, E) instead of (L, N, E).

    Shape:
        - query (L, N, E), key (S, N, kdim), value (S, N, vdim) (batch first with batch_first),
          or unbatched (L, E), (S, kdim), (S, vdim).
        - key_padding_mask: (N, S) (or (S,)); bool True marks keys to ignore, or float added.
        - attn_mask: (L, S) or (N * num_heads, L, S); bool True = not allowed, or float added.
        - output: (L, N, E); weights: (N, L, S) averaged over heads (average_attn_weights), else
          (N, num_heads, L, S); None when ``need_weights=False``.

    Attributes:
        in_proj_weight: (3E, E), xavier-uniform; in_proj_bias: (3E,), zeros;
        out_proj: Linear(E, E) with zero bias; bias_k, bias_v: (1, 1, E), xavier-normal.

    Example::

        >>> mha = nn.MultiheadAttention(16, 4, batch_first=True)
        >>> x = chainrule.randn(2, 5, 16)
        >>> out, weights = mha(x, x, x)
        >>> out.shape, weights.shape
        (chainrule.Size([2, 5, 16]), chainrule.Size([2, 5, 5]))
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        factory = {"device": device, "dtype": dtype}
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads, self.dropout, self.batch_first = num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError(f"MultiheadAttention: embed_dim must be divisible by num_heads "
                                 f"(got embed_dim={embed_dim}, num_heads={num_heads})")
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(_empty(embed_dim, embed_dim, **factory))
            self.k_proj_weight = Parameter(_empty(embed_dim, self.kdim, **factory))
            self.v_proj_weight = Parameter(_empty(embed_dim, self.vdim, **factory))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(_empty(3 * embed_dim, embed_dim, **factory))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(_empty(3 * embed_dim, **factory))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        **factory)
        if add_bias_kv:
            self.bias_k = Parameter(_empty(1, 1, embed_dim, **factory))
            self.bias_v = Parameter(_empty(1, 1, embed_dim, **factory))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def _check_inputs(self, query, key, value):
        """Name the module, the argument, the expected feature size and the shape received."""
        label = f"MultiheadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads})"
        layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
        for what, t, size in (("query", query, self.embed_dim), ("key", key, self.kdim),
                              ("value", value, self.vdim)):
            if t.ndim not in (2, 3):
                raise AssertionError(f"{label}: expected {what} to be 2-D (L, E) or 3-D "
                                     f"{layout}, got shape {tuple(t.shape)}")
            if t.shape[-1] != size:
                hint = "embed_dim" if what == "query" else ("kdim" if what == "key" else "vdim")
                raise AssertionError(f"{label}: was expecting embedding dimension of {size} for "
                                     f"{what}, but got {what} of shape {tuple(t.shape)} (last "
                                     f"dim {t.shape[-1]}); build the layer with "
                                     f"{hint}={t.shape[-1]} or project the {what}")

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        self._check_inputs(query, key, value)
        if self.batch_first and query.ndim == 3:
            # keep self-attention's identity (query is key is value): one packed projection
            same_kv = key is value
            same_q = same_kv and query is key
            query = query.transpose(1, 0)
            key = query if same_q else key.transpose(1, 0)
            value = key if same_kv else value.transpose(1, 0)
        out, weights = F.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight, average_attn_weights=average_attn_weights,
            is_causal=is_causal)
        if self.batch_first and query.ndim == 3:
            out = out.transpose(1, 0)
        return out, weights
