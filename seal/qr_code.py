"""QR code symbols (ISO/IEC 18004) of versions 1–6, level M, byte mode, mask 0, with each
version's layout computed once: the verification link's code in well under a millisecond.

Every sealed document carries a code for its own link, so it cannot be cached, and a general
encoder (segno) spent about 1 ms of a seal's ~10 ms placing and masking the modules one by
one. A symbol of a given version, level and mask differs from another only in its data
modules: this module computes, once per version, the function patterns (finders, timing,
alignment, format information) and the order of the data modules, then per link only the
codewords (Reed–Solomon over GF(256), one table look-up and XOR per byte) and one C-level
gather of every module from their bits (0.14 → 0.045 ms for a typical link). It
produces exactly the symbol segno makes with ``error="m", mask=0, boost_error=False`` for
the same text (tested module for module); anything else (a longer link, non-ASCII text,
text a smaller mode would encode) returns None and the caller uses segno.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Per version 1–6 at level M: data codewords per block, number of blocks, EC codewords per
# block (ISO/IEC 18004:2015 Table 9); all blocks of a version are the same length here.
_BLOCKS = {
    1: (16, 1, 10),
    2: (28, 1, 16),
    3: (44, 1, 26),
    4: (32, 2, 18),
    5: (43, 2, 24),
    6: (27, 4, 16),
}
_FORMAT_M_MASK0 = 0b101010000010010  # level M (00), mask 000, BCH, XOR 101010000010010
# Characters of the alphanumeric mode: text made only of these (or digits) would be encoded
# in a smaller mode by segno, so it is left to segno.
_ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
_BITS = bytes.maketrans(b"01", b"\x00\x01")

_EXP = [0] * 512
_LOG = [0] * 256
_value = 1
for _power in range(255):
    _EXP[_power] = _value
    _LOG[_value] = _power
    _value <<= 1
    if _value & 0x100:
        _value ^= 0x11D
for _power in range(255, 512):
    _EXP[_power] = _EXP[_power - 255]


@dataclass(frozen=True)
class _Layout:
    """What every symbol of one version shares."""

    size: int
    count: int  # data modules
    mask: int  # bit (count - 1 - i) set: mask 0 inverts the i-th data module
    # Each module, row by row, as an index into the data modules in placement order, or
    # ``count`` (a light function module) or ``count + 1`` (a dark one): with it the whole
    # symbol is one C-level gather from the data bits (``operator.itemgetter``).
    gather: Callable[[Sequence[int]], tuple[int, ...]]


def matrix(text: str) -> list[list[bool]] | None:
    """The dark-module matrix (True = dark, no quiet zone) of ``text``, or None when this
    encoder does not make the symbol segno would (see the module docstring)."""
    if not text.isascii() or all(c in _ALPHANUMERIC for c in text):
        return None
    data = text.encode("ascii")
    version = next((v for v in _BLOCKS if len(data) <= _capacity(v)), None)
    if version is None:
        return None
    layout = _layout(version)
    codewords = _codewords(data, version)
    # The codewords' bits, most significant first, then the remainder bits (0) up to the
    # data modules' count, XORed with mask 0: bit (count - 1 - i) is the i-th data module.
    spare = layout.count - 8 * len(codewords)
    value = (int.from_bytes(bytes(codewords), "big") << spare) ^ layout.mask
    modules = format(value, f"0{layout.count}b").encode("ascii").translate(_BITS) + b"\x00\x01"
    flat = layout.gather(modules)
    size = layout.size
    return [list(map(bool, flat[i : i + size])) for i in range(0, size * size, size)]


def _capacity(version: int) -> int:
    data, blocks, _ = _BLOCKS[version]
    return data * blocks - 2  # 4 bits of mode, 8 of count (versions 1–9), then the bytes


def _codewords(data: bytes, version: int) -> list[int]:
    per_block, blocks, ec = _BLOCKS[version]
    total = per_block * blocks
    # Byte mode 0100, an 8-bit count, the bytes, a terminator of four 0 bits (the capacity
    # always leaves room for it), which ends on a codeword boundary; then, as segno writes
    # it, eight more 0 bits (its "padding to the boundary" adds a whole byte when already
    # there: decoders stop at the terminator), then the pad bytes 0xEC 0x11 … to capacity.
    stream = bytearray()
    stream.append(0x40 | len(data) >> 4)
    previous = len(data) & 0x0F
    for byte in data:
        stream.append((previous << 4) | byte >> 4)
        previous = byte & 0x0F
    stream += bytes((previous << 4, 0))
    pad = 0xEC
    while len(stream) < total:
        stream.append(pad)
        pad ^= 0xEC ^ 0x11
    del stream[total:]
    divisor = _divisor(ec)
    data_blocks = [stream[i * per_block : (i + 1) * per_block] for i in range(blocks)]
    ec_blocks = [_remainder(block, divisor) for block in data_blocks]
    # Interleaved: the i-th codeword of every block, data first, then error correction.
    out = [block[i] for i in range(per_block) for block in data_blocks]
    out += [block[i] for i in range(ec) for block in ec_blocks]
    return out


@functools.cache
def _divisor(degree: int) -> tuple[int, ...]:
    """The Reed–Solomon generator polynomial of ``degree`` (roots 2^0 … 2^(degree-1)),
    highest coefficient dropped."""
    result = [0] * (degree - 1) + [1]
    root = 1
    for _ in range(degree):
        for j in range(degree):
            result[j] = _multiply(result[j], root)
            if j + 1 < degree:
                result[j] ^= result[j + 1]
        root = _multiply(root, 2)
    return tuple(result)


def _multiply(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else _EXP[_LOG[a] + _LOG[b]]


@functools.cache
def _products(divisor: tuple[int, ...]) -> tuple[int, ...]:
    """For each factor 0–255, the divisor's coefficients times it as one big-endian integer:
    a step of the division below is then one shift and one XOR."""
    return tuple(
        int.from_bytes(bytes(_multiply(factor, c) for c in divisor), "big") for factor in range(256)
    )


def _remainder(block: bytes | bytearray, divisor: tuple[int, ...]) -> list[int]:
    """The remainder of ``block`` (times x^degree) divided by the generator: the error
    correction codewords (polynomial long division, the remainder as one integer)."""
    degree = len(divisor)
    products = _products(divisor)
    top, keep = 8 * (degree - 1), (1 << 8 * (degree - 1)) - 1
    result = 0
    for byte in block:
        result = ((result & keep) << 8) ^ products[byte ^ result >> top]
    return list(result.to_bytes(degree, "big"))


@functools.cache
def _layout(version: int) -> _Layout:
    size = 17 + 4 * version
    dark = [[False] * size for _ in range(size)]
    function = [[False] * size for _ in range(size)]

    def put(row: int, col: int, value: bool) -> None:
        dark[row][col] = value
        function[row][col] = True

    for i in range(size):  # timing patterns (finders and separators overwrite their ends)
        put(6, i, i % 2 == 0)
        put(i, 6, i % 2 == 0)
    for top, left in ((0, 0), (0, size - 7), (size - 7, 0)):  # finders with separators
        for dr in range(-1, 8):
            for dc in range(-1, 8):
                row, col = top + dr, left + dc
                if 0 <= row < size and 0 <= col < size:
                    ring = max(abs(dr - 3), abs(dc - 3))
                    put(row, col, ring in (0, 1, 3))
    if version >= 2:  # one alignment pattern below and right (the others meet finders)
        centre = 4 * version + 10
        for dr in range(-2, 3):
            for dc in range(-2, 3):
                put(centre + dr, centre + dc, max(abs(dr), abs(dc)) != 1)
    bits = [bool(_FORMAT_M_MASK0 >> i & 1) for i in range(15)]
    for i in range(6):
        put(i, 8, bits[i])
    put(7, 8, bits[6])
    put(8, 8, bits[7])
    put(8, 7, bits[8])
    for i in range(9, 15):
        put(8, 14 - i, bits[i])
    for i in range(8):
        put(8, size - 1 - i, bits[i])
    for i in range(8, 15):
        put(size - 15 + i, 8, bits[i])
    put(size - 8, 8, True)  # the dark module

    positions: list[tuple[int, int]] = []
    right = size - 1
    while right >= 1:
        if right == 6:  # the vertical timing pattern's column is skipped
            right = 5
        upward = (right + 1) & 2 == 0
        for step in range(size):
            row = size - 1 - step if upward else step
            for col in (right, right - 1):
                if not function[row][col]:
                    positions.append((row, col))
        right -= 2
    count = len(positions)
    source = [[count + dark[row][col] for col in range(size)] for row in range(size)]
    mask = 0
    for index, (row, col) in enumerate(positions):
        source[row][col] = index
        if (row + col) % 2 == 0:
            mask |= 1 << (count - 1 - index)
    return _Layout(
        size=size,
        count=count,
        mask=mask,
        gather=operator.itemgetter(*(index for row in source for index in row)),
    )
