def is_available():
    """Apple's MPS backend is not supported by chainrule."""
    return False


def is_built():
    return False
