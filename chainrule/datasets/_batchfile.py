"""A restricted reader for CIFAR "python version" batch files; it never imports ``pickle``.

The batch files are pickles of a dict whose values are lists, ints, strings/bytes and one NumPy
uint8 array. Python's unpickler would run whatever callables a file names, so this reader walks
the opcode stream itself and accepts only those shapes: plain containers and scalars, plus the
exact opcode patterns NumPy emits for a uint8 array (``_reconstruct`` + ``BUILD`` in protocols
0-4, ``_frombuffer`` in protocol 5) and ``_codecs.encode(str, 'latin1')`` (how protocol 2 writes
bytes). Those names are matched as symbols and never looked up or called; any other global,
``REDUCE``/``BUILD`` pattern or opcode raises ``UnsafePickleError``.
"""
import struct

import numpy as np

__all__ = ["UnsafePickleError", "read_batch_file", "loads_restricted"]


class UnsafePickleError(ValueError):
    """The file is not a plain CIFAR-style batch (or tries to run code)."""


class _Symbol:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


_RECONSTRUCT, _NDARRAY, _DTYPE = _Symbol("_reconstruct"), _Symbol("ndarray"), _Symbol("dtype")
_FROMBUFFER, _ENCODE = _Symbol("_frombuffer"), _Symbol("encode")
_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _DTYPE,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("_codecs", "encode"): _ENCODE,
}


class _Dtype:           # numpy.dtype('u1') before/after its BUILD
    pass


class _Array:           # ndarray._reconstruct(...) waiting for its BUILD
    array = None


class _Mark:
    pass


_MARK = _Mark()
_PLAIN = (dict, list, tuple, str, bytes, int, float, bool, type(None), np.ndarray)


def _to_bytes(raw, what):
    if isinstance(raw, str):
        return raw.encode("latin1")
    if isinstance(raw, (bytes, bytearray)):
        return bytes(raw)
    raise UnsafePickleError(f"{what}: expected the array's bytes, got {type(raw).__name__}")


def _make_array(raw, shape, fortran, what):
    if not (isinstance(shape, tuple) and all(type(s) is int and s >= 0 for s in shape)):
        raise UnsafePickleError(f"{what}: bad array shape {shape!r}")
    raw = _to_bytes(raw, what)
    if len(raw) != int(np.prod(shape, dtype=np.int64)):
        raise UnsafePickleError(f"{what}: array of shape {shape} needs "
                                f"{int(np.prod(shape, dtype=np.int64))} bytes, got {len(raw)}")
    arr = np.frombuffer(raw, dtype=np.uint8)
    return arr.reshape(shape, order="F" if fortran else "C")


def _reduce(func, args, what):
    if not isinstance(args, tuple):
        raise UnsafePickleError(f"{what}: REDUCE arguments must be a tuple")
    if func is _ENCODE and len(args) == 2 and isinstance(args[0], str) \
            and args[1] in ("latin1", "latin-1"):
        return args[0].encode("latin1")
    if func is _DTYPE and len(args) == 3:
        if args[0] not in ("u1", "|u1", "uint8"):
            raise UnsafePickleError(f"{what}: only uint8 arrays are supported, got dtype "
                                    f"{args[0]!r}")
        return _Dtype()
    if func is _RECONSTRUCT and len(args) == 3 and args[0] is _NDARRAY \
            and args[1] == (0,) and args[2] in (b"b", "b"):
        return _Array()
    if func is _FROMBUFFER and len(args) == 4 and isinstance(args[1], _Dtype) \
            and args[3] in ("C", "F"):
        return _make_array(args[0], args[2], args[3] == "F", what)
    raise UnsafePickleError(f"{what}: refusing REDUCE of {func!r} with {len(args)} arguments "
                            f"(not part of a batch file)")


def _build(obj, state, what):
    if isinstance(obj, _Dtype) and isinstance(state, tuple) and state and state[0] in (3, 4) \
            and len(state) > 1 and state[1] in ("|", "<", ">", "="):
        return obj
    if isinstance(obj, _Array) and isinstance(state, tuple) and len(state) == 5 \
            and state[0] == 1 and isinstance(state[2], _Dtype):
        obj.array = _make_array(state[4], state[1], bool(state[3]), what)
        return obj.array
    raise UnsafePickleError(f"{what}: refusing BUILD on {type(obj).__name__}")


def _check_plain(obj, what):
    stack = [obj]
    while stack:
        o = stack.pop()
        if not isinstance(o, _PLAIN):
            raise UnsafePickleError(f"{what}: unexpected {type(o).__name__} object in the data")
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, (list, tuple)):
            stack.extend(o)


def loads_restricted(data, what="<bytes>"):
    """Decode a pickle byte string holding only a batch-file structure (see module doc)."""
    pos, stack, memo, n = 0, [], {}, len(data)

    def take(k):
        nonlocal pos
        if k < 0 or pos + k > n:
            raise UnsafePickleError(f"{what}: truncated at byte {pos} (wanted {k} more)")
        chunk = data[pos:pos + k]
        pos += k
        return chunk

    def line():
        nonlocal pos
        end = data.find(b"\n", pos)
        if end < 0:
            raise UnsafePickleError(f"{what}: truncated at byte {pos} (unterminated line)")
        s = data[pos:end].decode("ascii")
        pos = end + 1
        return s

    def pop_mark():
        for i in range(len(stack) - 1, -1, -1):
            if stack[i] is _MARK:
                items = stack[i + 1:]
                del stack[i:]
                return items
        raise UnsafePickleError(f"{what}: MARK missing at byte {pos}")

    def pop():
        if not stack or stack[-1] is _MARK:
            raise UnsafePickleError(f"{what}: stack underflow at byte {pos}")
        return stack.pop()

    def u(fmt, k):
        return struct.unpack(fmt, take(k))[0]

    while True:
        at = pos
        op = take(1)
        if op == b"\x80":                    # PROTO
            if take(1)[0] > 5:
                raise UnsafePickleError(f"{what}: unsupported pickle protocol")
        elif op == b"\x95":                  # FRAME (a length hint only)
            take(8)
        elif op == b".":                     # STOP
            result = pop()
            if isinstance(result, _Array):
                result = result.array
            _check_plain(result, what)
            return result
        elif op == b"(":
            stack.append(_MARK)
        elif op == b"}":
            stack.append({})
        elif op == b"]":
            stack.append([])
        elif op == b")":
            stack.append(())
        elif op == b"t":
            stack.append(tuple(pop_mark()))
        elif op in (b"\x85", b"\x86", b"\x87"):
            k = op[0] - 0x84
            items = [pop() for _ in range(k)][::-1]
            stack.append(tuple(items))
        elif op in (b"a", b"e"):
            items = [pop()] if op == b"a" else pop_mark()
            target = pop()
            if not isinstance(target, list):
                raise UnsafePickleError(f"{what}: APPEND to a {type(target).__name__}")
            target.extend(items)
            stack.append(target)
        elif op in (b"s", b"u"):
            if op == b"s":
                v = pop()
                items = [pop(), v]
            else:
                items = pop_mark()
            target = pop()
            if not isinstance(target, dict) or len(items) % 2:
                raise UnsafePickleError(f"{what}: SETITEM on a {type(target).__name__}")
            for k in range(0, len(items), 2):
                if not isinstance(items[k], (str, bytes)):
                    raise UnsafePickleError(f"{what}: dict keys must be str or bytes")
                target[items[k]] = items[k + 1]
            stack.append(target)
        elif op in (b"q", b"r", b"\x94", b"p"):   # BINPUT, LONG_BINPUT, MEMOIZE, PUT
            key = {b"q": lambda: take(1)[0], b"r": lambda: u("<I", 4),
                   b"\x94": lambda: len(memo), b"p": lambda: int(line())}[op]()
            if not stack:
                raise UnsafePickleError(f"{what}: memo of an empty stack at byte {at}")
            memo[key] = stack[-1]
        elif op in (b"h", b"j", b"g"):       # BINGET, LONG_BINGET, GET
            key = take(1)[0] if op == b"h" else u("<I", 4) if op == b"j" else int(line())
            if key not in memo:
                raise UnsafePickleError(f"{what}: memo key {key} not defined at byte {at}")
            v = memo[key]
            stack.append(v.array if isinstance(v, _Array) and v.array is not None else v)
        elif op == b"N":
            stack.append(None)
        elif op in (b"\x88", b"\x89"):
            stack.append(op == b"\x88")
        elif op == b"J":
            stack.append(u("<i", 4))
        elif op == b"K":
            stack.append(take(1)[0])
        elif op == b"M":
            stack.append(u("<H", 2))
        elif op == b"I":                     # INT (text); "00"/"01" are False/True
            s = line()
            stack.append({"00": False, "01": True}.get(s) if s in ("00", "01") else int(s))
        elif op == b"\x8a":                  # LONG1
            stack.append(int.from_bytes(take(take(1)[0]), "little", signed=True))
        elif op == b"G":
            stack.append(u(">d", 8))
        elif op == b"U":                     # SHORT_BINSTRING (Python 2 str): bytes
            stack.append(bytes(take(take(1)[0])))
        elif op == b"T":                     # BINSTRING
            stack.append(bytes(take(u("<i", 4))))
        elif op in (b"X", b"\x8c", b"\x8d"):  # BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
            k = {b"X": lambda: u("<I", 4), b"\x8c": lambda: take(1)[0],
                 b"\x8d": lambda: u("<Q", 8)}[op]()
            stack.append(bytes(take(k)).decode("utf-8", "surrogatepass"))
        elif op in (b"C", b"B", b"\x8e", b"\x96"):  # SHORT_BINBYTES, BINBYTES(8), BYTEARRAY8
            k = {b"C": lambda: take(1)[0], b"B": lambda: u("<I", 4),
                 b"\x8e": lambda: u("<Q", 8), b"\x96": lambda: u("<Q", 8)}[op]()
            stack.append(bytes(take(k)))
        elif op in (b"c", b"\x93"):          # GLOBAL, STACK_GLOBAL
            if op == b"c":
                module, name = line(), line()
            else:
                name, module = pop(), pop()
            if not (isinstance(module, str) and isinstance(name, str)):
                raise UnsafePickleError(f"{what}: malformed global at byte {at}")
            sym = _GLOBALS.get((module, name))
            if sym is None:
                raise UnsafePickleError(f"{what}: refusing global {module}.{name} at byte {at} "
                                        f"(a batch file names only NumPy array constructors)")
            stack.append(sym)
        elif op == b"R":                     # REDUCE
            args = pop()
            stack.append(_reduce(pop(), args, what))
        elif op == b"b":                     # BUILD
            state = pop()
            stack.append(_build(pop(), state, what))
        else:
            raise UnsafePickleError(f"{what}: unsupported pickle opcode {op!r} at byte {at}")


def read_batch_file(path):
    """Read one CIFAR python-format batch/meta file into a dict (keys as ``str``)."""
    with open(path, "rb") as f:
        data = f.read()
    obj = loads_restricted(data, str(path))
    if not isinstance(obj, dict):
        raise UnsafePickleError(f"{path}: expected a dict at top level, got {type(obj).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}
