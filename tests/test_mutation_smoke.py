"""The mutation test of scripts/mutation_test.py works: a gradient scaled by 1 + 1e-4 in a few
primitives' backward is caught by their OpInfo tests, and an unchanged backward is not."""
import importlib.util
import os

import pytest

from chainrule.ops import PRIMITIVES
from opinfo import OP_DB

_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts",
                     "mutation_test.py")
_spec = importlib.util.spec_from_file_location("mutation_test", _PATH)
mutation_test = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mutation_test)


@pytest.mark.parametrize("name", ["Exp", "Mul", "Sum", "Where", "Cast"])
def test_scaled_gradient_is_caught(name):
    result = mutation_test.mutate_one(name, OP_DB)
    assert result["caught"], f"{name}: a gradient scaled by 1 + 1e-4 passed {result['entries']}"


def test_unscaled_backward_is_not_caught():
    result = mutation_test.mutate_one("Exp", OP_DB, scale=1.0)
    assert result["entries"] and result["checks_run"] >= 3
    assert not result["caught"], result.get("message")


def test_backward_is_restored():
    original = PRIMITIVES["Exp"].__dict__["backward"]
    with mutation_test.mutated("Exp"):
        assert PRIMITIVES["Exp"].__dict__["backward"] is not original
    assert PRIMITIVES["Exp"].__dict__["backward"] is original
