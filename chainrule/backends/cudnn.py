deterministic = False
benchmark = False
enabled = True


def is_available():
    return False
