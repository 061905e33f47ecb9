"""The wire protocol between the judge and a student process: plain data, strictly decoded.

Both sides import this file (the student side loads it by path: it imports
nothing from ``autograder``). A frame is a 4-byte big-endian header length, a
JSON header ``{"value": ..., "blobs": n}``, then for each array an 8-byte length
and its ``.npy`` bytes (``allow_pickle=False``).

What a frame can carry is closed: None, bools, ints, floats, strings, lists,
tuples, dicts with plain keys, arrays of booleans or numbers, NumPy generators
of the known bit generators, and (judge to student only) references to
module-level functions. Anything else the student side meets is sent as
:class:`Opaque` (its type name only), so no object the student made (a lying
``__eq__``, an ndarray subclass) ever reaches the judge.

The judge decodes with ``refs="reject"``: a reply that is not of this form
raises :class:`ProtocolError`, which the judge counts against that call only.
Decoding never calls a name taken from the frame, except the bit generators of
:data:`BIT_GENERATORS`, looked up in that table.
"""

from __future__ import annotations

import io
import json
import struct

MAX_HEADER = 16 * 1024 * 1024  # bytes of JSON in one frame
MAX_FRAME = 256 * 1024 * 1024  # bytes in one frame, arrays included
MAX_DEPTH = 60


class ProtocolError(ValueError):
    """A frame that is not plain data of the form above."""


class Opaque:
    """Stands for a value that is not plain data (its type name is all we keep)."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


class CallableRef:
    """A module-level function named by ``module:qualname``, resolved on the student side."""

    def __init__(self, ref: str):
        self.ref = ref

    def __repr__(self) -> str:
        return f"<function {self.ref}>"


def _bit_generators() -> dict:
    import numpy as np

    return {name: getattr(np.random, name) for name in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")}


# ------------------------------------------------------------------ encoding


def encode(value, allow_refs: bool = False) -> bytes:
    """Serialise plain data to one frame. Non-plain values become :class:`Opaque`."""
    import numpy as np

    blobs: list[bytes] = []

    def enc(v, depth=0):
        if depth > MAX_DEPTH - 5:
            return {"__opaque__": "deeply nested value"}
        if v is None or type(v) in (bool, str):
            return v
        if type(v) is int:
            return v if abs(v) < 2**63 else {"__bigint__": str(v)}
        if type(v) is float:
            return {"__float__": repr(v)} if v != v or v in (float("inf"), float("-inf")) else v
        if isinstance(v, np.generic) and type(v).__module__ == "numpy":
            if v.dtype.kind in "biuf":
                return enc(v.item(), depth + 1)
            return {"__opaque__": f"numpy {v.dtype} scalar"}
        if isinstance(v, np.ndarray):
            arr = np.array(v, copy=True, subok=False)
            if type(arr) is not np.ndarray or arr.dtype.kind not in "biuf" or arr.dtype.names is not None:
                return {"__opaque__": f"array of dtype {arr.dtype}"}
            buf = io.BytesIO()
            np.save(buf, arr, allow_pickle=False)
            blobs.append(buf.getvalue())
            return {"__nd__": len(blobs) - 1}
        if type(v) is list:
            return [enc(x, depth + 1) for x in v]
        if type(v) is tuple:
            return {"__tuple__": [enc(x, depth + 1) for x in v]}
        if type(v) is dict:
            return {"__dict__": [[enc(k, depth + 1), enc(x, depth + 1)] for k, x in v.items()]}
        if type(v) is np.random.Generator:
            return {"__rng__": enc(v.bit_generator.state, depth + 1)}
        if allow_refs and isinstance(v, CallableRef):
            return {"__fn__": v.ref}
        if allow_refs and callable(v) and getattr(v, "__module__", None) and "<" not in getattr(v, "__qualname__", "<"):
            return {"__fn__": f"{v.__module__}:{v.__qualname__}"}
        return {"__opaque__": type(v).__name__[:100]}

    header = json.dumps({"value": enc(value), "blobs": len(blobs)}).encode()
    parts = [struct.pack(">I", len(header)), header]
    for blob in blobs:
        parts += [struct.pack(">Q", len(blob)), blob]
    return b"".join(parts)


# ------------------------------------------------------------------ decoding


def _hashable(key) -> bool:
    if key is None or type(key) in (bool, int, float, str):
        return True
    return type(key) is tuple and all(_hashable(k) for k in key)


def decode_body(header, blobs: list[bytes], refs: str = "reject"):
    """Rebuild the value of a frame whose header is parsed and whose blobs are read.

    Args:
        header: The parsed JSON header.
        blobs: The ``.npy`` byte strings that follow it.
        refs: What to do with function references: ``"reject"`` (the judge
            reading a reply: a :class:`ProtocolError`), ``"keep"`` (as
            :class:`CallableRef`) or ``"resolve"`` (import them: the student
            side reading a request).

    Raises:
        ProtocolError: The frame is not plain data of the accepted form.
    """
    import numpy as np

    if not isinstance(header, dict) or set(header) != {"value", "blobs"} or type(header["blobs"]) is not int:
        raise ProtocolError("the frame header is not {value, blobs}")
    if header["blobs"] != len(blobs):
        raise ProtocolError("the frame announces another number of arrays than it holds")
    arrays: list = []
    for blob in blobs:
        try:
            array = np.load(io.BytesIO(blob), allow_pickle=False)
        except Exception as exc:  # noqa: BLE001 - any unreadable .npy is the sender's fault
            raise ProtocolError(f"an array could not be read ({type(exc).__name__})") from None
        if type(array) is not np.ndarray or array.dtype.kind not in "biuf" or array.dtype.names is not None or array.dtype.subdtype:
            raise ProtocolError(f"an array of dtype {array.dtype} is not plain data")
        arrays.append(array)
    used: set[int] = set()
    generators = None

    def dec(v, depth=0):
        nonlocal generators
        if depth > MAX_DEPTH:
            raise ProtocolError("the value is nested too deeply")
        if v is None or type(v) in (bool, int, float, str):
            return v
        if type(v) is list:
            return [dec(x, depth + 1) for x in v]
        if type(v) is not dict or len(v) != 1:
            raise ProtocolError("a JSON object that is not a tagged value")
        ((tag, body),) = v.items()
        if tag == "__nd__":
            if type(body) is not int or not 0 <= body < len(arrays) or body in used:
                raise ProtocolError("an array reference that is out of range or used twice")
            used.add(body)
            return arrays[body]
        if tag == "__tuple__" and type(body) is list:
            return tuple(dec(x, depth + 1) for x in body)
        if tag == "__dict__" and type(body) is list:
            out = {}
            for pair in body:
                if type(pair) is not list or len(pair) != 2:
                    raise ProtocolError("a dict entry that is not a [key, value] pair")
                key = dec(pair[0], depth + 1)
                if not _hashable(key):
                    raise ProtocolError("a dict key that is not a plain value")
                out[key] = dec(pair[1], depth + 1)
            return out
        if tag == "__float__" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "__bigint__" and type(body) is str and 0 < len(body) <= 4000 and body.lstrip("-").isdigit():
            return int(body)
        if tag == "__rng__":
            state = dec(body, depth + 1)
            generators = generators or _bit_generators()
            if type(state) is not dict or state.get("bit_generator") not in generators:
                raise ProtocolError("a generator whose bit generator is not one of " + ", ".join(generators))
            bit_generator = generators[state["bit_generator"]]()
            try:
                bit_generator.state = state
            except Exception as exc:  # noqa: BLE001 - NumPy validates the state; any refusal is the sender's
                raise ProtocolError(f"a generator state NumPy refuses ({type(exc).__name__})") from None
            return np.random.Generator(bit_generator)
        if tag == "__opaque__" and type(body) is str:
            return Opaque(body[:100])
        if tag == "__fn__" and type(body) is str and refs != "reject":
            return resolve(body) if refs == "resolve" else CallableRef(body)
        raise ProtocolError(f"a value tagged {str(tag)[:40]!r} is not accepted here")

    value = dec(header["value"])
    if len(used) != len(arrays):
        raise ProtocolError("the frame holds arrays that no value uses")
    return value


def parse_header(data: bytes):
    """The JSON header of a frame (bytes after the length prefix)."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"the frame header is not JSON ({type(exc).__name__})") from None


def decode(data: bytes, refs: str = "reject"):
    """Rebuild the value of one whole frame held in memory."""
    if len(data) < 4:
        raise ProtocolError("a frame shorter than its length prefix")
    (size,) = struct.unpack(">I", data[:4])
    if size > MAX_HEADER or 4 + size > len(data):
        raise ProtocolError("the frame header is larger than the frame or than the grader accepts")
    header = parse_header(data[4 : 4 + size])
    if not isinstance(header, dict) or type(header.get("blobs")) is not int or header["blobs"] < 0:
        raise ProtocolError("the frame header is not {value, blobs}")
    blobs, at = [], 4 + size
    for _ in range(header["blobs"]):
        if at + 8 > len(data):
            raise ProtocolError("the frame ends inside an array length")
        (n,) = struct.unpack(">Q", data[at : at + 8])
        if at + 8 + n > len(data):
            raise ProtocolError("the frame ends inside an array")
        blobs.append(data[at + 8 : at + 8 + n])
        at += 8 + n
    return decode_body(header, blobs, refs)


def resolve(ref: str):
    """The object named ``module:qualname`` (student side: any module it can import)."""
    import importlib

    module_name, _, qualname = ref.partition(":")
    obj = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


# ------------------------------------------------------------------ pipes


def read_exact(fd: int, n: int) -> bytes:
    import os

    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("pipe closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, refs: str = "reject"):
    """Read and decode one frame from a blocking file descriptor (the student side)."""
    (size,) = struct.unpack(">I", read_exact(fd, 4))
    if size > MAX_HEADER:
        raise ProtocolError("frame header too large")
    header = parse_header(read_exact(fd, size))
    if not isinstance(header, dict) or type(header.get("blobs")) is not int or header["blobs"] < 0:
        raise ProtocolError("the frame header is not {value, blobs}")
    blobs, total = [], size
    for _ in range(header["blobs"]):
        (n,) = struct.unpack(">Q", read_exact(fd, 8))
        total += n
        if total > MAX_FRAME:
            raise ProtocolError("frame too large")
        blobs.append(read_exact(fd, n))
    return decode_body(header, blobs, refs)


def write_frame(fd: int, data: bytes) -> None:
    import os

    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
