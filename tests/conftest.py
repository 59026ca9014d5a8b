import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _seed():
    import chainrule
    chainrule.manual_seed(0)
    np.random.seed(0)
    yield
