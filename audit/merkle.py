"""RFC 9162 §2.1 Merkle trees: hashing, proofs computed from stored subtrees, verification.

Framework-free. Leaves are hashed ``SHA-256(0x00 || entry)``, nodes ``SHA-256(0x01 || l || r)``.
The log stores the hash of every *complete, aligned* subtree (``level``, ``index``) = the
root of leaves ``[index * 2**level, (index + 1) * 2**level)``; any other subtree hash, and so
every proof, is derived from O(log n) of them. Proof generation runs in two passes: the first
names the stored subtrees it needs (so one query fetches them), the second computes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping

NodeKey = tuple[int, int]  # (level, index)


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 §2.1.1: the hash of a leaf."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: the hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def new_nodes(index: int) -> list[NodeKey]:
    """The complete subtrees that appending leaf ``index`` completes, bottom-up,
    starting with the leaf itself: (0, index), (1, index // 2), … while the index is odd."""
    keys = [(0, index)]
    level = 0
    while index & 1:
        index >>= 1
        level += 1
        keys.append((level, index))
    return keys


def frontier(size: int) -> list[NodeKey]:
    """The complete subtrees whose hashes fold into the root of ``size`` leaves, left to
    right (one per set bit of ``size``)."""
    keys = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            keys.append((level, start >> level))
            start += 1 << level
    return keys


def fold(hashes: list[bytes]) -> bytes:
    """The root from the frontier hashes (left to right)."""
    if not hashes:
        return EMPTY_ROOT
    value = hashes[-1]
    for left in reversed(hashes[:-1]):
        value = node_hash(left, value)
    return value


def children(key: NodeKey) -> tuple[NodeKey, NodeKey]:
    """The two stored children of a stored interior node."""
    level, index = key
    return (level - 1, 2 * index), (level - 1, 2 * index + 1)


class _Tree:
    """Proof algorithms over a node source; records what it reads when planning."""

    def __init__(self, lookup: Callable[[NodeKey], bytes]) -> None:
        self.lookup = lookup

    def mth(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]); ``start`` is aligned to the subtree sizes it is called with."""
        size = end - start
        if size & (size - 1) == 0:  # a complete, aligned subtree: stored
            level = size.bit_length() - 1
            return self.lookup((level, start >> level))
        k = _split(size)
        return node_hash(self.mth(start, start + k), self.mth(start + k, end))

    def path(self, m: int, start: int, end: int) -> list[bytes]:
        """RFC 9162 §2.1.3.1 PATH(m, D[start:end]), m relative to start."""
        size = end - start
        if size == 1:
            return []
        k = _split(size)
        if m < k:
            return [*self.path(m, start, start + k), self.mth(start + k, end)]
        return [*self.path(m - k, start + k, end), self.mth(start, start + k)]

    def subproof(self, m: int, start: int, end: int, complete: bool) -> list[bytes]:
        """RFC 9162 §2.1.4.1 SUBPROOF(m, D[start:end], b)."""
        size = end - start
        if m == size:
            return [] if complete else [self.mth(start, end)]
        k = _split(size)
        if m <= k:
            return [*self.subproof(m, start, start + k, complete), self.mth(start + k, end)]
        return [*self.subproof(m - k, start + k, end, False), self.mth(start, start + k)]


def _planned(
    run: Callable[[_Tree], list[bytes]],
    fetch: Callable[[Iterable[NodeKey]], Mapping[NodeKey, bytes]],
) -> list[bytes]:
    wanted: set[NodeKey] = set()

    def record(key: NodeKey) -> bytes:
        wanted.add(key)
        return b"\x00" * 32

    run(_Tree(record))
    nodes = fetch(sorted(wanted))
    missing = wanted - set(nodes)
    if missing:
        raise LookupError(f"the log is missing stored subtrees {sorted(missing)[:3]}")
    return run(_Tree(nodes.__getitem__))


def root_hash(size: int, fetch: Callable[[Iterable[NodeKey]], Mapping[NodeKey, bytes]]) -> bytes:
    """MTH of the first ``size`` leaves."""
    if size == 0:
        return EMPTY_ROOT
    return _planned(lambda tree: [tree.mth(0, size)], fetch)[0]


def inclusion_proof(
    index: int, *, size: int, fetch: Callable[[Iterable[NodeKey]], Mapping[NodeKey, bytes]]
) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    return _planned(lambda tree: tree.path(index, 0, size), fetch)


def consistency_proof(
    first: int, *, second: int, fetch: Callable[[Iterable[NodeKey]], Mapping[NodeKey, bytes]]
) -> list[bytes]:
    """The proof that the tree of ``first`` leaves is a prefix of the tree of ``second``."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    if first == second:
        return []
    return _planned(lambda tree: tree.subproof(first, 0, second, True), fetch)


def root_from_leaves(entries: list[bytes]) -> bytes:
    """MTH computed directly from the entries (the verifier's independent recomputation)."""
    level = [leaf_hash(entry) for entry in entries]
    if not level:
        return EMPTY_ROOT
    # Fold complete subtrees left to right like the RFC's recursion, without recursion.
    stack: list[tuple[int, bytes]] = []  # (height, hash) of complete subtrees
    for leaf in level:
        height, value = 0, leaf
        while stack and stack[-1][0] == height:
            _, left = stack.pop()
            value = node_hash(left, value)
            height += 1
        stack.append((height, value))
    value = stack.pop()[1]
    while stack:
        value = node_hash(stack.pop()[1], value)
    return value


def verify_inclusion(
    *, leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` show leaf hash ``leaf`` at ``index`` under ``root``?"""
    if index >= size or index < 0:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    *, first: int, second: int, proof: list[bytes], first_root: bytes, second_root: bytes
) -> bool:
    """RFC 9162 §2.1.4.2: does ``proof`` show tree ``first`` is a prefix of tree ``second``?"""
    if first <= 0 or first > second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first root is the first proof node
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root
