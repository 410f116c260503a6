"""Brush masks as Label Studio stores them: value {"format": "rle", "rle": [...]}, where
the list is the bytes of thi.ng's rle-pack encoding of the mask's RGBA pixels (each
pixel four bytes, 255 where painted). Stream layout, most significant bit first:
32 bits value count, 5 bits word size - 1, four 4-bit run-length sizes - 1, then chunks
of (1 bit repeat flag, 2 bits size class, run length - 1, then one word if repeated or
that many words if not)."""

from __future__ import annotations

import numpy as np

from labelkit.errors import InvalidInput

WORD_BITS = 8
RUN_SIZES = (3, 4, 8, 16)
_MAX_RUN = 1 << RUN_SIZES[-1]


def encode(mask: np.ndarray) -> list[int]:
    """A 2-D mask (non-zero = painted) as Label Studio's RLE byte list."""
    values = np.repeat(np.where(np.asarray(mask) > 0, 255, 0).astype(np.uint8).ravel(), 4)
    return encode_values(values)


def decode(rle: list[int], width: int, height: int) -> np.ndarray:
    """Label Studio's RLE back to a boolean mask of height x width (its alpha channel)."""
    values = decode_values(rle)
    if values.size != width * height * 4:
        raise InvalidInput(f"The brush mask holds {values.size // 4} pixels, not {width} x {height}.")
    return values.reshape(height, width, 4)[:, :, 3] > 0


def encode_values(values: np.ndarray) -> list[int]:
    values = np.asarray(values, dtype=np.uint8)
    bits: list[str] = [_bits(values.size, 32), _bits(WORD_BITS - 1, 5), *(_bits(s - 1, 4) for s in RUN_SIZES)]
    if values.size:
        starts = np.concatenate(([0], np.flatnonzero(np.diff(values)) + 1))
        ends = np.concatenate((starts[1:], [values.size]))
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            word = _bits(int(values[start]), WORD_BITS)
            length = end - start
            while length:
                chunk = min(length, _MAX_RUN)
                size_class = next(i for i, size in enumerate(RUN_SIZES) if chunk - 1 < 1 << size)
                bits.append("1" + _bits(size_class, 2) + _bits(chunk - 1, RUN_SIZES[size_class]) + word)
                length -= chunk
    stream = "".join(bits)
    stream += "0" * (-len(stream) % 8)
    return list(int(stream, 2).to_bytes(len(stream) // 8, "big")) if stream else []


def decode_values(rle: list[int]) -> np.ndarray:
    try:
        data = bytes(rle)
    except (TypeError, ValueError):
        raise InvalidInput("A brush mask's rle must be a list of bytes (0-255).") from None
    reader = _Reader(data)
    count = reader.read(32)
    word = reader.read(5) + 1
    sizes = [reader.read(4) + 1 for _ in range(4)]
    out = np.zeros(count, dtype=np.uint32 if word > 8 else np.uint8)
    i = 0
    while i < count:
        repeated = reader.read(1)
        end = min(count, i + 1 + reader.read(sizes[reader.read(2)]))
        if repeated:
            out[i:end] = reader.read(word)
            i = end
        else:
            while i < end:
                out[i] = reader.read(word)
                i += 1
    return out


def _bits(value: int, width: int) -> str:
    return format(value, f"0{width}b")


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.bits = "".join(map("{:08b}".format, data))
        self.at = 0

    def read(self, width: int) -> int:
        if self.at + width > len(self.bits):
            raise InvalidInput("A brush mask's rle ends too early: it is not Label Studio's RLE.")
        self.at += width
        return int(self.bits[self.at - width : self.at], 2)
