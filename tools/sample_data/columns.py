"""Vectorised column builders: ids, arrow string columns, nulls, and timestamps spelled the way
each source writes them (Z, local time with an offset, naive UTC)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# UTC offsets (minutes) used when a source writes local time with an offset.
OFFSETS = np.array([-480, -300, -240, 60, 120, 330, 540])
_PRIME = 2_147_483_647  # ids are a bijection of a global counter, so they look unordered


def _perm_id(counter: np.ndarray, mult: int) -> np.ndarray:
    return ((np.asarray(counter, dtype=np.int64) + 7919) * mult) % _PRIME


def _ids(prefix: str, numbers: np.ndarray, width: int = 10) -> list[str]:
    return [f"{prefix}{int(v):0{width}d}" for v in numbers]


def _seq_ids(prefix: str, n: int) -> pa.Array:
    """Vectorised `prefix + zero-padded counter` for large tables."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(n, dtype=np.int64)), pa.string()), 8, "0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def _take(values, codes: np.ndarray) -> pa.Array:
    """Look up strings by integer code (values: a sequence or arrow array)."""
    arr = values if isinstance(values, pa.Array) else pa.array(list(values), pa.string())
    return arr.take(pa.array(np.asarray(codes, dtype=np.int64)))


def _num(values: np.ndarray, decimals: int | None = None) -> pa.Array:
    values = np.asarray(values)
    if decimals is not None:
        values = np.round(values, decimals)
    return pc.cast(pa.array(values), pa.string())


def _with_nulls(arr: pa.Array, null_mask: np.ndarray) -> pa.Array:
    if not null_mask.any():
        return arr
    return pc.if_else(pa.array(null_mask), pa.nulls(len(arr), pa.string()), arr)


def _timestamps(rng: np.random.Generator, epoch: np.ndarray, mix: tuple[float, float, float]):
    """Format UTC epoch seconds as text, mixing 'Z', local time with an offset, and naive UTC.

    mix = probabilities of (Z, offset, naive): the same instant, spelled as different sources do.
    Built directly as an arrow string buffer (fixed 19-byte stamp + variable suffix) for speed.
    """
    epoch = np.asarray(epoch, dtype=np.int64)
    n = len(epoch)
    style = rng.choice(3, size=n, p=mix)
    offset = OFFSETS[rng.integers(0, len(OFFSETS), size=n)]
    local = epoch + np.where(style == 1, offset * 60, 0)
    stamp = np.datetime_as_string(local.astype("datetime64[s]"), unit="s").astype("S19")
    width = 19 + 6
    buf = np.zeros((n, width), dtype=np.uint8)
    buf[:, :19] = stamp.view(np.uint8).reshape(n, 19)
    buf[style == 2, 10] = ord(" ")
    suffix_code = np.where(
        style == 0, 0, np.where(style == 2, 1, 2 + np.searchsorted(OFFSETS, offset))
    )
    suffixes = [b"Z", b""] + [
        f"{'+' if o >= 0 else '-'}{abs(o) // 60:02d}:{abs(o) % 60:02d}".encode() for o in OFFSETS
    ]
    table = np.zeros((len(suffixes), 6), dtype=np.uint8)
    lengths = np.array([len(x) for x in suffixes])
    for i, sfx in enumerate(suffixes):
        table[i, : len(sfx)] = np.frombuffer(sfx, dtype=np.uint8)
    buf[:, 19:] = table[suffix_code]
    row_len = 19 + lengths[suffix_code]
    keep = np.arange(width)[None, :] < row_len[:, None]
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(row_len, out=offsets[1:])
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(buf[keep].tobytes()))
