"""Replies from an untrusted worker, encoded without pickle.

Unpickling data from student code would let it run code in the grader, so a
worker's replies are JSON plus raw numeric arrays (read back with
``allow_pickle=False``). Anything else comes back as its ``repr`` only. A reply is an
uncompressed .npz archive; `decode` refuses one whose contents, as stored or unpacked, pass
MAX_REPLY_BYTES, before it unpacks anything.
"""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np

_SCALARS = (bool, int, float, str, type(None))
MAX_REPLY_BYTES = 128 << 20  # 4x the biggest result a check asks for (06: 4096 x 2048 float32)


class ReplyTooLarge(ValueError):
    """A worker's reply past MAX_REPLY_BYTES (as sent, or once unpacked)."""


def _to_json(value, arrays: list):
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject or value.dtype.kind not in "biufc":
            return {"__repr__": f"array of dtype {value.dtype}"}
        arrays.append(value if value.flags.c_contiguous else value.copy(order="C"))  # keeps 0-d
        return {"__array__": len(arrays) - 1}
    if isinstance(value, np.generic):
        return {"__npscalar__": _to_json(np.asarray(value), arrays)}
    if isinstance(value, _SCALARS):
        if isinstance(value, float) and not np.isfinite(value):
            return {"__float__": repr(value)}
        return value
    if isinstance(value, (list, tuple)):
        items = [_to_json(v, arrays) for v in value]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _to_json(v, arrays) for k, v in value.items()}}
    try:
        text = repr(value)[:200]
    except Exception:  # a hostile __repr__ must not break the worker
        text = "<unprintable>"
    return {"__repr__": f"{type(value).__name__}: {text}"}


def _from_json(value, arrays: list):
    if isinstance(value, list):
        return [_from_json(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "__array__" in value:
        return arrays[value["__array__"]]
    if "__npscalar__" in value:
        return _from_json(value["__npscalar__"], arrays)[()]
    if "__float__" in value:
        return float(value["__float__"])
    if "__tuple__" in value:
        return tuple(_from_json(v, arrays) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: _from_json(v, arrays) for k, v in value["__dict__"].items()}
    return Unsupported(value["__repr__"])


class Unsupported:
    """Stands in for a returned object the grader refuses to rebuild."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return f"<unsupported return value {self.text}>"


def encode(value) -> bytes:
    arrays: list = []
    header = json.dumps(_to_json(value, arrays))
    buffer = io.BytesIO()
    np.savez(buffer, header=np.frombuffer(header.encode(), dtype=np.uint8),
             **{f"a{i}": a for i, a in enumerate(arrays)})
    return buffer.getvalue()


def decode(data: bytes, limit: int = MAX_REPLY_BYTES):
    """The value `encode` made; ReplyTooLarge past `limit` bytes, ValueError if malformed."""
    if len(data) > limit:
        raise ReplyTooLarge(f"a reply of {len(data) / 2**20:.0f} MiB")
    try:
        entries = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except zipfile.BadZipFile as err:
        raise ValueError(f"a malformed reply ({err})") from None
    unpacked = sum(e.file_size for e in entries)
    if unpacked > limit or any(e.compress_type != zipfile.ZIP_STORED for e in entries):
        raise ReplyTooLarge(f"a reply that unpacks to {unpacked / 2**20:.0f} MiB"
                            if unpacked > limit else "a compressed reply")
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        header = json.loads(npz["header"].tobytes().decode())
        arrays = [npz[f"a{i}"] for i in range(len(npz.files) - 1)]
    return _from_json(header, arrays)
