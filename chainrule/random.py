"""Random number generation: ``Generator``, ``manual_seed`` and the default generator.

Every random op in chainrule (rand, randn, dropout, init, DataLoader shuffling) draws from a
``Generator`` (the global default unless one is passed), so a seed makes a run repeatable.
"""
import numpy as np

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state",
           "default_generator"]


class Generator:
    """A random number generator (PCG64) with torch's methods."""

    def __init__(self, device="cpu"):
        self.device = device
        self._seed = 67280421310721
        self.rng = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed):
        seed = int(seed)
        if seed < 0:
            seed &= 0xFFFF_FFFF_FFFF_FFFF
        self._seed = seed
        self.rng = np.random.Generator(np.random.PCG64(seed))
        return self

    def seed(self):
        s = int(np.random.SeedSequence().entropy) & 0xFFFF_FFFF_FFFF_FFFF
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The generator state as a uint8 Tensor (save it with chainrule.save)."""
        from .tensor import Tensor
        st = self.rng.bit_generator.state
        words = [st["state"]["state"], st["state"]["inc"], st["has_uint32"], st["uinteger"]]
        raw = b"".join(int(w).to_bytes(16, "little") for w in words)
        return Tensor._make(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, state):
        data = bytes(np.asarray(state.data if hasattr(state, "data") else state,
                                dtype=np.uint8).tobytes())
        if len(data) != 64:
            raise RuntimeError(f"Generator.set_state: expected a state of 64 bytes, got {len(data)}")
        words = [int.from_bytes(data[i:i + 16], "little") for i in range(0, 64, 16)]
        self.rng.bit_generator.state = {
            "bit_generator": "PCG64", "state": {"state": words[0], "inc": words[1]},
            "has_uint32": words[2], "uinteger": words[3]}
        return self


default_generator = Generator()


def _rng(generator=None):
    return (generator or default_generator).rng


def manual_seed(seed):
    """Seed the default generator (and return it), as torch.manual_seed."""
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)
