"""Lossless compact encoding of one column of a chunk (steps, values or times).

``encode(x)`` turns a float64 array into a blob and ``decode(blob, n)`` gives back
the very same bits (NaN payloads and ``-0.0`` included), whatever the input: every
candidate is an exact bijection, checked bit for bit before it is used.

A blob starts with a tag byte: ``kind << 4 | layout``. The *kind* maps the floats
to int64 without loss:

- ``INT``: every value is an integer (steps, counts): ``x.astype(int64)``;
- ``F32``: every value is exactly a float32 (a PyTorch loss read with ``.item()``):
  the float32 bit pattern;
- ``BITS``: anything else: the float64 bit pattern (``x.view(int64)``), whose
  differences are small for close values of one sign (wall-clock times: one ulp is
  2**-22 s ~ 0.24 us until 2038, so a 1 ms gap is ~4,200).

The *layout* stores those integers, the smallest of:

- ``LINE``: ``first, delta`` (int64 each): evenly spaced, ~0 bytes a point;
- ``DELTA``: a width byte, ``first`` (int64), then the ``n - 1`` differences at the
  smallest width (1, 2, 4 or 8 bytes) that holds them all;
- ``PLAIN``: a width byte, then the ``n`` integers at the smallest width.

In a chunk of at least ``ZLIB_MIN`` points, when a sample of the integers
compresses to half or less (quantized accuracies, stepped learning rates,
fractional epochs), they are stored byte-plane by byte-plane (all first bytes,
then all second bytes...) through ``zlib`` level 1 and the tag gets the ``ZLIB``
bit. Noisy values fail the sample test and cost the sample only. Smaller chunks
(series logged slower than ~8,000 points a second) skip zlib: a call costs tens
of microseconds whatever its size, and they are a small part of the file.

Reading is bounded: a blob's declared size (its point count, its width) is checked
against its length before anything is allocated, a chunk holds at most
``MAX_CHUNK`` points, and deflated bytes are inflated to the expected size and no
further (a zlib bomb is refused). A malformed blob raises :class:`CorruptChunk`.

Differences wrap around in int64 (numpy integer arithmetic is modular), and so
does the cumulative sum that undoes them, so the round trip is exact even then.
Encoding is a handful of vectorized numpy passes, no Python loop over points.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

INT, F32, BITS = 1, 2, 3
LINE, DELTA, PLAIN = 0, 1, 2
ZLIB = 8  # tag bit: the integers after the header are byte-shuffled and deflated
ZLIB_MIN = 4096  # fewer integers than this are never deflated
SAMPLE = 2048  # integers compressed to decide whether to compress them all
GOOD_RATIO = 0.5  # compress when the sample shrinks at least this much
WIDTHS = (1, 2, 4, 8)
MAX_CHUNK = 1 << 22  # points per chunk, written and read (32 MiB a column)


class CorruptChunk(ValueError):
    """A stored chunk that cannot be what the writer made."""

_LIMITS = [(w, -(1 << (8 * w - 1)), (1 << (8 * w - 1)) - 1) for w in WIDTHS]
_HEAD = struct.Struct("<BBq")  # tag, width, first
_LINE = struct.Struct("<Bqq")  # tag, first, delta


def _width(lo: int, hi: int) -> int:
    """The fewest bytes of a signed integer that hold ``lo`` to ``hi``."""
    for w, a, b in _LIMITS:
        if a <= lo and hi <= b:
            return w
    return 8


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return bool((a.view(np.int64) == b.view(np.int64)).all())


def _planes(a: np.ndarray) -> bytes:
    """The bytes of ``a`` plane by plane: every first byte, every second byte..."""
    w = a.dtype.itemsize
    return a.view(np.uint8).reshape(-1, w).T.tobytes() if w > 1 else a.tobytes()


def _pack(tag: int, head: bytes, a: np.ndarray) -> bytes:
    """``head`` then the integers ``a``, deflated when a sample says it pays."""
    raw = a.tobytes()
    if len(a) >= ZLIB_MIN:
        sample = _planes(a[:SAMPLE])
        if len(zlib.compress(sample, 1)) < GOOD_RATIO * len(sample):
            packed = zlib.compress(_planes(a), 1)
            if len(packed) < len(raw):
                return bytes((tag | ZLIB,)) + head[1:] + packed
    return head + raw


def _unpack(tag: int, blob: bytes, offset: int, w: int, n: int) -> np.ndarray:
    """The ``n`` integers of width ``w`` that :func:`_pack` stored from ``offset``."""
    if w not in WIDTHS:
        raise CorruptChunk(f"integer width {w}")
    size = w * n
    if not tag & ZLIB:
        if len(blob) - offset != size:
            raise CorruptChunk(f"{len(blob) - offset} bytes for {n} integers of {w} bytes")
        return np.frombuffer(blob, f"<i{w}", n, offset)
    if size == 0:  # max_length 0 would mean "no limit"
        raise CorruptChunk("deflated data for no integers")
    inflater = zlib.decompressobj()
    try:  # never more than the size the chunk declares
        raw = inflater.decompress(blob[offset:], size)
    except zlib.error as e:
        raise CorruptChunk(f"deflated data: {e}") from None
    if len(raw) != size or inflater.unconsumed_tail or not inflater.eof:
        raise CorruptChunk(f"deflated data is not {size} bytes")
    planes = np.frombuffer(raw, np.uint8)
    return planes.reshape(w, n).T.copy().view(f"<i{w}").reshape(n)


def to_ints(x: np.ndarray) -> tuple[int, np.ndarray]:
    """``(kind, ints)``: the int64 mapping of ``x`` (float64) its values allow.
    The first value rules a kind out before any whole-array pass."""
    head = float(x[0])
    with np.errstate(invalid="ignore", over="ignore"):
        if head.is_integer():
            ints = x.astype(np.int64)
            if _same_bits(ints.astype(np.float64), x):
                return INT, ints
        if float(np.float32(head)) == head or head != head:
            f32 = x.astype(np.float32)
            if _same_bits(f32.astype(np.float64), x):
                return F32, f32.view(np.int32).astype(np.int64)
    return BITS, x.view(np.int64)


def from_ints(kind: int, ints: np.ndarray) -> np.ndarray:
    """The float64 values ``to_ints`` mapped to ``ints`` under ``kind``."""
    if kind == INT:
        return ints.astype(np.float64)
    if kind == F32:
        return ints.astype(np.int32).view(np.float32).astype(np.float64)
    if kind == BITS:
        return ints.view(np.float64)
    raise ValueError(f"unknown chunk encoding kind {kind}")


def encode(x: np.ndarray) -> bytes:
    """The smallest exact blob of ``x`` (1-d float64, at least one value)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    kind, ints = to_ints(x)
    n = len(ints)
    first = int(ints[0])
    d = np.diff(ints)
    if n > 1 and d[0] == d[-1] and bool((d == d[0]).all()):
        return _LINE.pack(kind << 4 | LINE, first, int(d[0]))
    wd = _width(int(d.min()), int(d.max())) if n > 1 else 1
    wp = _width(int(ints.min()), int(ints.max())) if wd > 2 or n < 8 else 8
    if 8 + (n - 1) * wd < n * wp:
        return _pack(kind << 4 | DELTA, _HEAD.pack(kind << 4 | DELTA, wd, first),
                     d.astype(f"<i{wd}"))
    return _pack(kind << 4 | PLAIN, bytes((kind << 4 | PLAIN, wp)), ints.astype(f"<i{wp}"))


def decode(blob: bytes, n: int) -> np.ndarray:
    """The ``n`` float64 values :func:`encode` turned into ``blob``."""
    _check_n(n)
    if not blob:
        raise CorruptChunk("empty blob")
    tag = blob[0]
    kind, layout = tag >> 4, tag & 7
    if kind not in (INT, F32, BITS):
        raise CorruptChunk(f"unknown chunk encoding kind {kind}")
    if layout == LINE:
        if len(blob) != _LINE.size:
            raise CorruptChunk(f"a line blob of {len(blob)} bytes")
        _, first, delta = _LINE.unpack_from(blob)
        ints = np.arange(n, dtype=np.int64) * np.int64(delta) + np.int64(first)
    elif layout == DELTA:
        if len(blob) < _HEAD.size:
            raise CorruptChunk(f"a delta blob of {len(blob)} bytes")
        _, w, first = _HEAD.unpack_from(blob)
        ints = np.empty(n, dtype=np.int64)
        ints[0] = first
        ints[1:] = _unpack(tag, blob, _HEAD.size, w, n - 1)
        np.cumsum(ints, out=ints)
    elif layout == PLAIN:
        if len(blob) < 2:
            raise CorruptChunk("a plain blob of 1 byte")
        ints = _unpack(tag, blob, 2, blob[1], n).astype(np.int64)
    else:
        raise CorruptChunk(f"unknown chunk encoding layout {layout}")
    return from_ints(kind, ints)


def _check_n(n: object) -> None:
    if not isinstance(n, int) or not 1 <= n <= MAX_CHUNK:
        raise CorruptChunk(f"a chunk of {n!r} points (1 to {MAX_CHUNK} expected)")


def decode_raw(blob: bytes, n: int) -> np.ndarray:
    """A blob of the first format (schema 1): ``n`` little-endian float64."""
    _check_n(n)
    if len(blob) != 8 * n:
        raise CorruptChunk(f"{len(blob)} bytes for {n} float64")
    return np.frombuffer(blob, "<f8", n)
