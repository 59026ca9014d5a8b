"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward`` (the math of
nn.MultiheadAttention), as composites of matmul, softmax, where and dropout."""
import math

from ...ops import (matmul, transpose, reshape, softmax, where, cat, split, zeros, ones, tril,
                    repeat_interleave, mean)
from ... import dtypes as _dt
from ...tensor import Tensor
from ...ops.fused.attention import attention as _fused_attention
from .dropout import dropout as _dropout
from .linear import linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def _check_tensor(x, name, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(x).__name__}")


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    r"""softmax(Q K^T * scale + mask) V, over the last two dims, batched over the leading ones.

    .. math:: \mathrm{Attention}(Q, K, V) = \mathrm{softmax}\left(\frac{Q K^T}{\sqrt{E}} +
        M\right) V

    Args:
        query: (N, ..., L, E).
        key: (N, ..., S, E).
        value: (N, ..., S, Ev).
        attn_mask: broadcastable to (N, ..., L, S): bool (True = take part in attention) or float
            (added to the scores; -inf removes a position).
        dropout_p: dropout probability on the attention weights (always applied when > 0, as
            torch; pass 0.0 in evaluation).
        is_causal: mask out keys after each query (lower-triangular (L, S) mask); ``attn_mask``
            must then be None.
        scale: the factor on Q K^T; default 1/sqrt(E).
        enable_gqa: grouped-query attention: key/value may have fewer heads (dim -3) than query;
            each is shared by ``Hq / Hkv`` consecutive query heads.

    Masked positions get exactly zero weight and exactly zero gradient. A query whose every key
    is masked (a fully masked row) gets output 0 and gradient 0 for that row, as torch 2.13 does
    (older torch returned NaN there; ``multi_head_attention_forward`` with ``need_weights=True``
    still gives NaN, as torch).

    Shape: output (N, ..., L, Ev).

    Example:
        >>> q = k = v = chainrule.randn(2, 4, 5, 8)        # (batch, heads, seq, head_dim)
        >>> scaled_dot_product_attention(q, k, v, is_causal=True).shape
        chainrule.Size([2, 4, 5, 8])
    """
    op = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        _check_tensor(t, name, op)
        if t.ndim < 2:
            raise RuntimeError(f"{op}: expected {name} to have at least 2 dimensions, got shape "
                               f"{tuple(t.shape)}")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"{op}: query and key must have the same embedding dim, got "
                           f"{tuple(query.shape)} and {tuple(key.shape)}")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"{op}: key and value must have the same sequence length, got "
                           f"{tuple(key.shape)} and {tuple(value.shape)}")
    if not query.dtype.is_floating_point or query.dtype != key.dtype or \
            query.dtype != value.dtype:
        raise RuntimeError(f"{op}: expected query, key and value to have the same floating "
                           f"dtype, got {query.dtype}, {key.dtype} and {value.dtype}")
    if is_causal and attn_mask is not None:
        raise RuntimeError(f"{op}: _scaled_dot_product_attention: Explicit attn_mask should not "
                           "be set when is_causal=True")
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        hq, hkv = query.shape[-3], key.shape[-3]
        if hq % hkv or value.shape[-3] != hkv:
            raise RuntimeError(f"{op}: with enable_gqa, the number of query heads ({hq}) must "
                               f"be a multiple of the key/value heads ({hkv}, {value.shape[-3]})")
        key = repeat_interleave(key, hq // hkv, dim=-3)
        value = repeat_interleave(value, hq // hkv, dim=-3)
    L, S = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    if attn_mask is not None:
        _check_tensor(attn_mask, "attn_mask", op)
    fused_mask = _additive_mask(attn_mask, is_causal, L, S, query)
    if dropout_p == 0.0 and fused_mask is not False:
        return _fused_attention(query, key, value, fused_mask, scale)
    return _sdpa_reference(query, key, value, attn_mask, dropout_p, is_causal, scale)


def _additive_mask(attn_mask, is_causal, L, S, query):
    """The mask as the additive array the fused primitive takes (None: no mask), or False when
    the composite must run instead: a float mask that needs its gradient or has another dtype."""
    xp = query._xp()
    dtype = query.data.dtype
    if is_causal:
        return xp.triu(xp.full((L, S), -xp.inf, dtype=dtype), 1)
    if attn_mask is None:
        return None
    if attn_mask.dtype.name == "bool":
        return xp.where(attn_mask.data, dtype.type(0), dtype.type(-xp.inf))
    if attn_mask.requires_grad or attn_mask.data.dtype != dtype:
        return False
    return attn_mask.data


def _sdpa_reference(query, key, value, attn_mask, dropout_p, is_causal, scale):
    """The composite of ``scaled_dot_product_attention`` (its inputs already checked): the
    reference of the fused primitive, and the path taken with dropout or a float mask that
    needs its gradient."""
    L, S = query.shape[-2], key.shape[-2]
    scores = matmul(query, transpose(key, -2, -1)) * scale
    if is_causal:
        attn_mask = tril(ones(L, S, dtype=_dt.bool))
    if attn_mask is not None:
        if attn_mask.dtype.name == "bool":
            # where() (not + -inf) so the masked scores get exactly zero gradient
            scores = where(attn_mask, scores, float("-inf"))
        else:
            scores = scores + attn_mask
        full = _fully_masked_rows(scores)
        if full is not None:
            # why: softmax of an all -inf row is 0/0; compute it on zeros and zero the row, so
            # neither the output nor any gradient picks up NaN
            scores = where(full, 0.0, scores)
            weights = where(full, 0.0, softmax(scores, -1))
        else:
            weights = softmax(scores, -1)
    else:
        weights = softmax(scores, -1)
    if dropout_p > 0.0:
        weights = _dropout(weights, dropout_p, True)
    return matmul(weights, value)


def _fully_masked_rows(scores):
    """A constant bool tensor (..., L, 1) marking rows whose scores are all -inf, or None."""
    xp = scores._xp()
    data = scores.data
    if data.shape[-1] == 0:
        return None
    full = xp.isneginf(data).all(axis=-1, keepdims=True)
    return Tensor._make(full) if bool(full.any()) else None


# ---- multi-head attention ----

def _canonical_mask(mask, name, target_dtype):
    """Bool masks (True = masked out, torch's MHA convention) become float masks with -inf."""
    if mask is None:
        return None
    if mask.dtype.name == "bool":
        return where(mask, float("-inf"), zeros((), dtype=target_dtype))
    if not mask.dtype.is_floating_point:
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask


def _in_projection(query, key, value, w, b, separate, q_w, k_w, v_w, E):
    if not separate:
        if key is query and value is query:
            return split(linear(query, w, b), E, -1)
        w_q, w_k, w_v = split(w, E)
        b_q = b_k = b_v = None
        if b is not None:
            b_q, b_k, b_v = split(b, E)
        if key is value:
            q = linear(query, w_q, b_q)
            k, v = split(linear(key, cat([w_k, w_v]), None if b is None else cat([b_k, b_v])),
                         E, -1)
            return q, k, v
        return linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)
    b_q = b_k = b_v = None
    if b is not None:
        b_q, b_k, b_v = split(b, E)
    return linear(query, q_w, b_q), linear(key, k_w, b_k), linear(value, v_w, b_v)


def _pad_last(mask, n=1):
    """Append ``n`` zero columns to a float mask (the extra bias_k / zero-attention key)."""
    if mask is None:
        return None
    return cat([mask, zeros(tuple(mask.shape[:-1]) + (n,), dtype=mask.dtype)], -1)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """Multi-head attention in torch's sequence-first layout (see nn.MultiheadAttention).

    Args:
        query: (L, N, E) or unbatched (L, E); key: (S, N, E_k); value: (S, N, E_v).
        key_padding_mask: (N, S) (or (S,) unbatched); bool True = ignore that key, or float added.
        attn_mask: (L, S) or (N * num_heads, L, S); bool True = not allowed, or float added.
        need_weights: also return the attention weights (computed explicitly); otherwise the
            output comes from ``scaled_dot_product_attention``.
        average_attn_weights: average the returned weights over heads.
        is_causal: a hint that ``attn_mask`` is the causal mask (it must be given).

    Returns:
        (output (L, N, E), weights (N, L, S) averaged, (N, num_heads, L, S) per head, or None).
        Unbatched inputs give unbatched outputs.
    """
    op = "multi_head_attention_forward"
    batched = query.ndim == 3
    if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
        raise AssertionError(f"{op}: query, key and value should be all 2-D (unbatched) or all "
                             f"3-D (batched), got {query.ndim}-D, {key.ndim}-D and "
                             f"{value.ndim}-D")
    if not batched:
        same_kv, same_q = key is value, key is query and value is query
        query = query.unsqueeze(1)
        key = query if same_q else key.unsqueeze(1)
        value = key if same_kv else value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, E = query.shape
    src_len = key.shape[0]
    if E != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {E}")
    head_dim = E // num_heads
    if key.shape[:2] != value.shape[:2]:
        raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape "
                             f"{tuple(value.shape)}")
    if key_padding_mask is not None and tuple(key_padding_mask.shape) != (bsz, src_len):
        raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                             f"{tuple(key_padding_mask.shape)}")
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", query.dtype)
    attn_mask = _canonical_mask(attn_mask, "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None     # the mask is causal: let the attention kernel build it
    else:
        is_causal = False
    q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias,
                             use_separate_proj_weight, q_proj_weight, k_proj_weight,
                             v_proj_weight, E)
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, "
                                   f"but should be {(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.ndim == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, "
                                   f"but should be {(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")
    if bias_k is not None and bias_v is not None:
        k = cat([k, bias_k.expand(1, bsz, E)])
        v = cat([v, bias_v.expand(1, bsz, E)])
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    # (L, N, E) -> (N * heads, L, head_dim)
    q = transpose(reshape(q, (tgt_len, bsz * num_heads, head_dim)), 0, 1)
    k = transpose(reshape(k, (k.shape[0], bsz * num_heads, head_dim)), 0, 1) \
        if static_k is None else static_k
    v = transpose(reshape(v, (v.shape[0], bsz * num_heads, head_dim)), 0, 1) \
        if static_v is None else static_v
    if add_zero_attn:
        k = cat([k, zeros(bsz * num_heads, 1, head_dim, dtype=k.dtype)], 1)
        v = cat([v, zeros(bsz * num_heads, 1, head_dim, dtype=v.dtype)], 1)
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    src_len = k.shape[1]
    if key_padding_mask is not None:
        kpm = reshape(key_padding_mask, (bsz, 1, 1, src_len)).expand(bsz, num_heads, 1, src_len)
        kpm = reshape(kpm, (bsz * num_heads, 1, src_len))
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0
    if need_weights:
        q = q * math.sqrt(1.0 / head_dim)
        scores = matmul(q, transpose(k, -2, -1))
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = softmax(scores, -1)
        if dropout_p > 0.0:
            weights = _dropout(weights, dropout_p, True)
        out = matmul(weights, v)                                    # (N*h, L, hd)
        out = reshape(transpose(out, 0, 1), (tgt_len * bsz, E))
        out = reshape(linear(out, out_proj_weight, out_proj_bias), (tgt_len, bsz, E))
        weights = reshape(weights, (bsz, num_heads, tgt_len, src_len))
        if average_attn_weights:
            weights = mean(weights, 1)
        if not batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights
    if attn_mask is not None:
        attn_mask = attn_mask.unsqueeze(0) if attn_mask.shape[0] == 1 else \
            reshape(attn_mask, (bsz, num_heads, -1, src_len))
    q = reshape(q, (bsz, num_heads, tgt_len, head_dim))
    k = reshape(k, (bsz, num_heads, src_len, head_dim))
    v = reshape(v, (bsz, num_heads, src_len, head_dim))
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = reshape(out.permute(2, 0, 1, 3), (bsz * tgt_len, E))
    out = reshape(linear(out, out_proj_weight, out_proj_bias), (tgt_len, bsz, E))
    if not batched:
        out = out.squeeze(1)
    return out, None
