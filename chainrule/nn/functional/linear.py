"""Affine maps: ``linear`` (x W^T + b) and ``bilinear`` (x1^T A x2 + b)."""
from ...ops import matmul, transpose, reshape, unsqueeze, sum as _sum, permute
from ...ops.fused.linear import Linear as _Linear

__all__ = ["linear", "bilinear"]


def linear(input, weight, bias=None):
    """y = x W^T + b.

    Args:
        input: (*, in_features).
        weight: (out_features, in_features), or (in_features,) for a single output (dropped).
        bias: (out_features,) or None.

    Shape: (*, in_features) -> (*, out_features).
    """
    if weight.ndim not in (1, 2):
        raise RuntimeError(f"linear: expected weight to be 1-D or 2-D, got shape "
                           f"{tuple(weight.shape)}")
    if input.ndim == 0:
        raise RuntimeError(f"linear: both arguments need to be at least 1-D, but input is 0-D "
                           f"and weight {tuple(weight.shape)}")
    if input.shape[-1] != weight.shape[-1]:
        raise RuntimeError(f"linear: input's last dimension must equal weight's in_features "
                           f"{weight.shape[-1]}: input {tuple(input.shape)}, weight "
                           f"{tuple(weight.shape)}")
    if bias is not None and bias.dtype is not input.dtype and input.dtype.is_floating_point:
        raise RuntimeError(f"linear: expected input, weight and bias to have the same dtype, "
                           f"got {input.dtype}, {weight.dtype} and {bias.dtype}")
    if weight.ndim == 2 and input.dtype is weight.dtype and input.dtype.is_floating_point and \
            (bias is None or (bias.dtype is input.dtype and
                              tuple(bias.shape) == (weight.shape[0],))):
        return _Linear.apply(input, weight, bias)      # one node (ops/fused/linear.py)
    w = transpose(weight, 0, 1) if weight.ndim == 2 else weight
    if input.ndim > 2:
        # why: one (N*T, in) @ (in, out) BLAS call beats a batched matmul over the leading dims
        lead = tuple(input.shape[:-1])
        out = matmul(reshape(input, (-1, input.shape[-1])), w)
        out = reshape(out, lead + tuple(out.shape[1:]))
    else:
        out = matmul(input, w)
    return out + bias if bias is not None else out


def bilinear(input1, input2, weight, bias=None):
    """y_k = x1^T A_k x2 + b_k.

    Args:
        input1: (*, in1_features).
        input2: (*, in2_features), the same leading dims as input1.
        weight: (out_features, in1_features, in2_features).
        bias: (out_features,) or None.

    Shape: -> (*, out_features).
    """
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-dimensional, got shape "
                           f"{tuple(weight.shape)}")
    if input1.ndim == 0 or input2.ndim == 0:
        raise RuntimeError(f"bilinear(): inputs need at least 1 dimension, got shapes "
                           f"{tuple(input1.shape)} and {tuple(input2.shape)}")
    if input1.ndim != input2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.ndim} and "
                           f"{input2.ndim}")
    for d in range(input1.ndim - 1):
        if input1.shape[d] != input2.shape[d]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {d}: got "
                               f"{input1.shape[d]} and {input2.shape[d]}")
    out_f, in1, in2 = weight.shape
    if input1.shape[-1] != in1:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got "
                           f"{input1.shape[-1]} but expected {in1}")
    if input2.shape[-1] != in2:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got "
                           f"{input2.shape[-1]} but expected {in2}")
    # (*, in1) @ (in1, out*in2) -> (*, out, in2), then contract in2 with x2
    w = reshape(permute(weight, (1, 0, 2)), (in1, out_f * in2))
    t = reshape(matmul(input1, w), tuple(input1.shape[:-1]) + (out_f, in2))
    out = _sum(t * unsqueeze(input2, -2), -1)
    return out + bias if bias is not None else out
