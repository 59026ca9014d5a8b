import numpy as np
import torch

import chainrule as cr
from .core import OpInfo, ErrorInput
from .samplers import binary_samples


def _shape_error(fn):
    return lambda: [ErrorInput((np.ones((2, 3)), np.ones((4,))), {}, RuntimeError,
                               r"cannot be broadcast.*\(2, 3\).*\(4,\)|\(2, 3\) and \(4,\)")]


OPS = [
    OpInfo("add", cr.add, torch.add, binary_samples(), primitives=("Add",),
           errors=_shape_error(cr.add)),
    OpInfo("sub", cr.sub, torch.sub, binary_samples(), primitives=("Sub",),
           errors=_shape_error(cr.sub)),
    OpInfo("mul", cr.mul, torch.mul, binary_samples(), primitives=("Mul",),
           errors=_shape_error(cr.mul)),
    OpInfo("div", cr.div, torch.div, binary_samples(low2=0.5, high2=2.0), primitives=("Div",)),
    OpInfo("pow", cr.pow, torch.pow, binary_samples(0.5, 2.0, -1.5, 1.5), primitives=("Pow",)),
    OpInfo("maximum", cr.maximum, torch.maximum, binary_samples(scalars=()),
           primitives=("Maximum",)),
    OpInfo("minimum", cr.minimum, torch.minimum, binary_samples(scalars=()),
           primitives=("Minimum",)),
    OpInfo("atan2", cr.atan2, torch.atan2, binary_samples(scalars=()), primitives=("Atan2",)),
    OpInfo("remainder", cr.remainder, torch.remainder, binary_samples(0.5, 3, 0.7, 1.3),
           primitives=("Remainder",), gradcheck_tol=(1e-5, 1e-6)),
]
