"""chainrule.nn.functional: linear, bilinear, embedding, one_hot, distances, dropout (its
deterministic cases; the random ones are tested statistically in tests/test_nn_layers.py)."""
import numpy as np
import torch.nn.functional as TF

import chainrule.nn.functional as F
from .core import OpInfo, Sample, ErrorInput
from .samplers import uniform, noncontig


def _linear_samples(dt, rng):
    r = lambda *s: uniform(rng, s, dt)    # noqa: E731
    return [Sample((r(3, 4), r(2, 4), r(2)), desc="2-d"),
            Sample((r(4), r(2, 4), r(2)), desc="1-d input"),
            Sample((r(2, 3, 4), r(2, 4), r(2)), desc="3-d input"),
            Sample((r(3, 4), r(2, 4)), desc="no bias"),
            Sample((r(0, 4), r(2, 4), r(2)), desc="empty batch"),
            Sample((noncontig(r(3, 4)), noncontig(r(2, 4)), r(2)), desc="noncontig"),
            Sample((r(3, 4), r(4)), desc="1-d weight"),
            Sample((r(2, 2, 3, 4), r(5, 4), r(5)), desc="4-d input"),
            Sample((r(3, 0), r(2, 0), r(2)), desc="no input features"),
            Sample((r(3, 4), r(2, 4), r(1, 2)), desc="bias (1, out): composite path")]


def _bilinear_samples(dt, rng):
    r = lambda *s: uniform(rng, s, dt)    # noqa: E731
    return [Sample((r(3, 2), r(3, 4), r(5, 2, 4), r(5)), desc="2-d"),
            Sample((r(2, 3, 2), r(2, 3, 4), r(3, 2, 4)), desc="3-d, no bias"),
            Sample((r(2), r(4), r(3, 2, 4), r(3)), desc="1-d"),
            Sample((r(0, 2), r(0, 4), r(3, 2, 4), r(3)), desc="empty"),
            Sample((noncontig(r(4, 2)), r(4, 3), r(2, 2, 3), r(2)), desc="noncontig")]


def _embedding_samples(dt, rng):
    w = lambda: uniform(rng, (6, 3), dt)    # noqa: E731
    idx = lambda *v: np.array(v, dtype=np.int64)    # noqa: E731
    return [Sample((idx(1, 3, 3, 0), w()), desc="1-d repeats"),
            Sample((np.array(4), w()), desc="0-d index"),
            Sample((np.array([[0, 5], [5, 5]]), w()), desc="2-d"),
            Sample((np.zeros((0,), np.int64), w()), desc="empty"),
            Sample((idx(2, 3, 2, 1), w()), {"padding_idx": 2}, desc="padding_idx",
                   finite_diff=False),   # torch's rule: no gradient at padding_idx
            Sample((idx(2, 3, 5, 5), w()), {"padding_idx": -1}, desc="negative padding_idx",
                   finite_diff=False),
            Sample((idx(2, 3, 2, 2, 1), w()), {"scale_grad_by_freq": True}, desc="by freq",
                   finite_diff=False),
            Sample((idx(0, 3, 0, 3, 4), w()), {"scale_grad_by_freq": True, "padding_idx": 0},
                   desc="by freq + padding", finite_diff=False),
            Sample((np.array([[1, 2], [0, 1]], dtype=np.int32), noncontig(uniform(rng, (6, 3),
                                                                                 dt))),
                   desc="int32, noncontig weight")]


def _dropouts(f, x):
    """The deterministic dropouts (p = 0, eval mode, alpha_dropout outside training); dropout2d
    only on the 3-D / 4-D inputs it is meant for (torch deprecates the others)."""
    out = (f.dropout(x, 0.0), f.dropout(x, 0.7, training=False), f.alpha_dropout(x, 0.3))
    return out + ((f.dropout2d(x, 0.5, training=False),) if x.ndim in (3, 4) else ())


def _pair_samples(dim_kw):
    def gen(dt, rng):
        r = lambda *s: uniform(rng, s, dt)    # noqa: E731
        return [Sample((r(3, 4), r(3, 4)), dict(dim_kw), desc="same shape"),
                Sample((r(3, 4), r(4)), dict(dim_kw), desc="broadcast row"),
                Sample((r(2, 3, 4), r(3, 1)), dict(dim_kw), desc="broadcast 3-d"),
                Sample((r(1, 4), r(3, 4)), dict(dim_kw), desc="broadcast first"),
                Sample((r(0, 4), r(0, 4)), dict(dim_kw), desc="empty"),
                Sample((r(), r()), dict(dim_kw), desc="0-d"),
                Sample((r(), r(3)), dict(dim_kw), desc="0-d and 1-d"),
                Sample((noncontig(r(3, 4)), r(3, 4)), dict(dim_kw), desc="noncontig")]
    return gen


OPS = [
    OpInfo("F.linear", F.linear, TF.linear, _linear_samples, primitives=("Linear", "MatMul"),
           errors=lambda: [
        ErrorInput((np.ones((3, 5)), np.ones((2, 4))), {}, RuntimeError,
                   r"linear: input's last dimension must equal weight's in_features 4: input "
                   r"\(3, 5\)", op=F.linear),
        ErrorInput((np.ones(()), np.ones((2, 1))), {}, RuntimeError,
                   r"linear: both arguments need to be at least 1-D, but input is 0-D and weight "
                   r"\(2, 1\)", op=F.linear)],
           no_scalar_reason="torch.nn.functional.linear rejects a 0-d input (see the error "
                            "inputs)"),
    OpInfo("F.bilinear", F.bilinear, TF.bilinear, _bilinear_samples,
           no_scalar_reason="bilinear contracts the feature dims of input1 and input2: a 0-d input "
                            "has none (torch raises)",
           errors=lambda: [
        ErrorInput((np.ones(()), np.ones(()), np.ones((1, 1, 1))), {}, RuntimeError,
                   r"bilinear\(\): inputs need at least 1 dimension, got shapes \(\) and \(\)",
                   op=F.bilinear),
        ErrorInput((np.ones((5, 3)), np.ones((5, 3)), np.ones((4, 2, 3))), {}, RuntimeError,
                   "input1 size does not match weight size: got 3 but expected 2",
                   op=F.bilinear),
        ErrorInput((np.ones((5, 2)), np.ones((4, 3)), np.ones((4, 2, 3))), {}, RuntimeError,
                   "batch dimensions do not match at dim 0: got 5 and 4", op=F.bilinear)]),
    OpInfo("F.embedding", F.embedding, TF.embedding, _embedding_samples,
           primitives=("Embedding", "EmbeddingBackward"), errors=lambda: [
               ErrorInput((np.array([6]), np.ones((6, 3))), {}, IndexError,
                          "index out of range", op=F.embedding),
               ErrorInput((np.array([-1]), np.ones((6, 3))), {}, IndexError,
                          "index out of range", op=F.embedding),
               ErrorInput((np.array([1.0]), np.ones((6, 3))), {}, RuntimeError,
                          "expected indices of dtype int64 or int32", op=F.embedding),
               ErrorInput((np.array([1]), np.ones((6, 3))), {"padding_idx": 6}, AssertionError,
                          "Padding_idx must be within num_embeddings", op=F.embedding)]),
    OpInfo("F.one_hot", F.one_hot, TF.one_hot,
           lambda dt, rng: [Sample((np.array([0, 2, 1, 2]),), desc="infer"),
                            Sample((np.array([[0, 1], [3, 0]]), 5), desc="2-d, 5 classes"),
                            Sample((np.array(2), 3), desc="0-d"),
                            Sample((np.zeros((0,), np.int64), 3), desc="empty")],
           grad=False, errors=lambda: [
               ErrorInput((np.array([1.0]),), {}, RuntimeError,
                          "only applicable to index tensor of type LongTensor", op=F.one_hot),
               ErrorInput((np.array([-1, 2]),), {}, RuntimeError,
                          "Class values must be non-negative", op=F.one_hot),
               ErrorInput((np.array([1, 5]), 3), {}, RuntimeError,
                          "Class values must be smaller than num_classes", op=F.one_hot),
               ErrorInput((np.zeros((0,), np.int64),), {}, RuntimeError,
                          "Can not infer total number of classes", op=F.one_hot)]),
    OpInfo("F.normalize", F.normalize, TF.normalize,
           lambda dt, rng: [
               Sample((uniform(rng, (3, 4), dt),), desc="default"),
               Sample((uniform(rng, (3, 4), dt),), {"p": 1.0, "dim": 0}, desc="p=1"),
               Sample((uniform(rng, (2, 3, 4), dt),), {"p": 3.0, "dim": -1}, desc="p=3"),
               Sample((uniform(rng, (2, 3), dt),), {"p": float("inf")}, desc="p=inf"),
               Sample((uniform(rng, (5,), dt),), {"dim": 0}, desc="1-d"),
               Sample((uniform(rng, (), dt),), {"dim": 0}, desc="0-d"),
               Sample((uniform(rng, (0, 3), dt),), desc="empty"),
               Sample((noncontig(uniform(rng, (3, 4), dt)),), desc="noncontig"),
               Sample((np.array([[0.0, 0.0], [3.0, 4.0]], dtype=dt),), desc="zero row",
                      finite_diff=False)],
           errors=lambda: [ErrorInput((np.ones((2, 3)),), {"dim": 2}, IndexError,
                                      "Dimension out of range", op=F.normalize)]),
    OpInfo("F.cosine_similarity", F.cosine_similarity, TF.cosine_similarity,
           _pair_samples({"dim": -1}), errors=lambda: [
               ErrorInput((np.ones((2, 3)), np.ones((2, 4))), {}, RuntimeError,
                          "cannot be broadcast", op=F.cosine_similarity)]),
    OpInfo("F.cosine_similarity_dim0", F.cosine_similarity, TF.cosine_similarity,
           lambda dt, rng: [Sample((uniform(rng, s, dt), uniform(rng, s, dt)),
                                   {"dim": 0, "eps": 1e-6}, desc=str(s))
                            for s in [(3, 4), (), (3, 0)]],
           errors=lambda: [ErrorInput((np.ones((2, 3)), np.ones((2, 3))), {"dim": 2}, IndexError,
                                      r"cosine_similarity: Dimension out of range.*but got 2",
                                      op=F.cosine_similarity)]),
    OpInfo("F.pairwise_distance", F.pairwise_distance, TF.pairwise_distance,
           _pair_samples({}), errors=lambda: [
               ErrorInput((np.ones((2, 3)), np.ones((2, 4))), {}, RuntimeError,
                          "cannot be broadcast", op=F.pairwise_distance)]),
    OpInfo("F.pairwise_distance_p", F.pairwise_distance, TF.pairwise_distance,
           lambda dt, rng: [Sample((uniform(rng, (3, 4), dt), uniform(rng, (3, 4), dt)), kw,
                                   desc=str(kw))
                            for kw in ({"p": 1.0}, {"p": 3.0, "keepdim": True},
                                       {"p": float("inf")}, {"eps": 0.0})] +
           [Sample((uniform(rng, s, dt), uniform(rng, s, dt)), {"p": 1.0}, desc=str(s))
            for s in [(4,), (), (0, 4)]],
           errors=lambda: [ErrorInput((np.ones((2, 3)), np.ones((2, 4))), {"p": 1.0}, RuntimeError,
                                      r"pairwise_distance: shapes \(2, 3\) and \(2, 4\) cannot be "
                                      r"broadcast", op=F.pairwise_distance)]),
    OpInfo("F.dropout_deterministic", lambda x: _dropouts(F, x), lambda x: _dropouts(TF, x),
           lambda dt, rng: [Sample((uniform(rng, s, dt),), desc=str(s))
                            for s in [(2, 3, 2), (), (0, 2, 3)]],
           errors=lambda: [ErrorInput((np.ones(3), 1.5), {}, ValueError,
                                      "dropout probability has to be between 0 and 1, but got "
                                      "1.5", op=F.dropout),
                           ErrorInput((np.ones(3),), {}, RuntimeError,
                                      "dropout1d: Expected 2D or 3D input, but received a 1D",
                                      op=F.dropout1d)]),
]
