"""RFC 9162 Merkle proofs: properties for random trees, and agreement with pymerkle (an
independent implementation) and the RFC 6962 test vectors."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymerkle import InmemoryTree

from audit import merkle

# The RFC 6962 test leaves and the roots every CT implementation checks against.
VECTOR_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
VECTOR_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def stored_tree(entries: list[bytes]) -> dict[merkle.NodeKey, bytes]:
    """The nodes the log stores, built append by append exactly as the log does."""
    nodes: dict[merkle.NodeKey, bytes] = {}
    for index, entry in enumerate(entries):
        for key in merkle.new_nodes(index):
            if key[0] == 0:
                nodes[key] = merkle.leaf_hash(entry)
            else:
                left, right = merkle.children(key)
                nodes[key] = merkle.node_hash(nodes[left], nodes[right])
    return nodes


def fetcher(nodes: dict[merkle.NodeKey, bytes]):  # type: ignore[no-untyped-def]
    def fetch(keys: Iterable[merkle.NodeKey]) -> Mapping[merkle.NodeKey, bytes]:
        return {key: nodes[key] for key in keys if key in nodes}

    return fetch


def test_rfc6962_vectors() -> None:
    fetch = fetcher(stored_tree(VECTOR_LEAVES))
    for size, expected in enumerate(VECTOR_ROOTS, start=1):
        assert merkle.root_hash(size, fetch).hex() == expected
        assert merkle.root_from_leaves(VECTOR_LEAVES[:size]).hex() == expected
    assert merkle.root_hash(0, fetch) == merkle.EMPTY_ROOT


entries_strategy = st.lists(st.binary(max_size=8), min_size=1, max_size=90)


@settings(max_examples=60, deadline=None)
@given(entries=entries_strategy, data=st.data())
def test_inclusion_proofs_verify_and_fail_when_altered(
    entries: list[bytes], data: st.DataObject
) -> None:
    fetch = fetcher(stored_tree(entries))
    size = data.draw(st.integers(1, len(entries)))
    index = data.draw(st.integers(0, size - 1))
    root = merkle.root_hash(size, fetch)
    proof = merkle.inclusion_proof(index, size=size, fetch=fetch)
    leaf = merkle.leaf_hash(entries[index])
    assert merkle.verify_inclusion(leaf=leaf, index=index, size=size, proof=proof, root=root)
    assert not merkle.verify_inclusion(
        leaf=merkle.leaf_hash(entries[index] + b"!"), index=index, size=size, proof=proof, root=root
    )
    assert not merkle.verify_inclusion(
        leaf=leaf, index=index, size=size, proof=proof, root=merkle.leaf_hash(b"other root")
    )
    if size > 1:
        other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index))
        if entries[other] != entries[index]:
            assert not merkle.verify_inclusion(
                leaf=leaf, index=other, size=size, proof=proof, root=root
            )
    if proof:
        bent = [*proof[:-1], merkle.leaf_hash(b"bent")]
        assert not merkle.verify_inclusion(leaf=leaf, index=index, size=size, proof=bent, root=root)


@settings(max_examples=60, deadline=None)
@given(entries=entries_strategy, data=st.data())
def test_consistency_proofs_verify_and_fail_when_altered(
    entries: list[bytes], data: st.DataObject
) -> None:
    fetch = fetcher(stored_tree(entries))
    second = data.draw(st.integers(1, len(entries)))
    first = data.draw(st.integers(1, second))
    first_root, second_root = merkle.root_hash(first, fetch), merkle.root_hash(second, fetch)
    proof = merkle.consistency_proof(first, second=second, fetch=fetch)
    assert merkle.verify_consistency(
        first=first, second=second, proof=proof, first_root=first_root, second_root=second_root
    )
    if first < second:
        forged = merkle.root_from_leaves([b"forged", *entries[1:first]])
        assert not merkle.verify_consistency(
            first=first, second=second, proof=proof, first_root=forged, second_root=second_root
        )
        assert not merkle.verify_consistency(
            first=first,
            second=second,
            proof=proof,
            first_root=first_root,
            second_root=merkle.leaf_hash(b"x"),
        )
        assert not merkle.verify_consistency(
            first=first, second=second, proof=[], first_root=first_root, second_root=second_root
        )


@settings(max_examples=40, deadline=None)
@given(entries=entries_strategy, data=st.data())
def test_agrees_with_pymerkle(entries: list[bytes], data: st.DataObject) -> None:
    reference = InmemoryTree(algorithm="sha256")
    for entry in entries:
        reference.append_entry(entry)
    fetch = fetcher(stored_tree(entries))
    size = data.draw(st.integers(1, len(entries)))
    assert merkle.root_hash(size, fetch) == reference.get_root(size)
    # pymerkle's audit path starts with the leaf itself and numbers leaves from 1.
    index = data.draw(st.integers(0, size - 1))
    theirs = reference.prove_inclusion(index + 1, size).serialize()["path"]
    ours = merkle.inclusion_proof(index, size=size, fetch=fetch)
    assert [bytes.fromhex(h) for h in theirs[1:]] == ours


def test_argument_checks() -> None:
    fetch = fetcher(stored_tree([b"a", b"b"]))
    with pytest.raises(ValueError, match="not in a tree"):
        merkle.inclusion_proof(2, size=2, fetch=fetch)
    with pytest.raises(ValueError, match="no consistency proof"):
        merkle.consistency_proof(3, second=2, fetch=fetch)
    with pytest.raises(LookupError, match="missing stored subtrees"):
        merkle.root_hash(2, fetcher({}))
