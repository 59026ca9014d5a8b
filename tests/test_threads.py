"""chainrule.set_num_threads / get_num_threads (torch's names): OpenBLAS's thread count."""
import pytest

import chainrule as cr
from chainrule.backends import blas


def test_set_and_get_num_threads_round_trip():
    if blas.openblas_function("set_num_threads") is None:
        pytest.skip("NumPy's BLAS here is not OpenBLAS")
    before = cr.get_num_threads()
    try:
        cr.set_num_threads(1)
        assert cr.get_num_threads() == 1
        assert blas.info()["threads"] == 1
        cr.set_num_threads(2)
        assert cr.get_num_threads() == 2
    finally:
        cr.set_num_threads(before)
    assert cr.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_set_num_threads_rejects_what_is_not_a_positive_int(bad):
    with pytest.raises(ValueError, match=r"set_num_threads: expected a positive int"):
        cr.set_num_threads(bad)
