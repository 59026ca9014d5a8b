"""Every primitive has an OpInfo entry, and every entry's primitives exist."""
from chainrule.ops import PRIMITIVES
from opinfo import OP_DB


def test_every_primitive_has_an_opinfo_entry():
    covered = {p for op in OP_DB for p in op.primitives}
    missing = sorted(set(PRIMITIVES) - covered)
    assert not missing, f"primitives without an OpInfo entry: {missing}"


def test_opinfo_primitives_are_registered():
    unknown = sorted({p for op in OP_DB for p in op.primitives} - set(PRIMITIVES))
    assert not unknown, f"OpInfo entries name unknown primitives: {unknown}"
