"""Golden vectors: the tree's roots and proofs are the published RFC 6962 reference values,
and its verifiers reject every corrupted proof the reference test suite tries.

The values come from transparency-dev/merkle ``testonly/constants.go`` and
``proof/verify_test.go`` (the corruption probes are its ``corruptInclusionProof`` and
``corruptConsistencyProof``), which derive from Certificate Transparency's
``merkle_tree_test.cc``; the hasher vectors from transparency-dev/merkle
``rfc6962/rfc6962_test.go``. The Go suite numbers leaves from 1; here indexes are 0-based.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ledger.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    ProofError,
    hash_children,
    hash_leaf,
    verify_consistency,
    verify_inclusion,
)


def h(text: str) -> bytes:
    value = bytes.fromhex(text)
    assert len(value) == 32
    return value


LEAVES = [
    bytes.fromhex(x)
    for x in (
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

ROOTS = {  # tree size → MTH of the first that many leaves
    1: h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    2: h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    3: h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    4: h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    5: h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    6: h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    7: h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    8: h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
}
EMPTY_TREE = h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")

INCLUSION = {  # (index, tree size) → PATH, from the leaf up
    (0, 8): [
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    (5, 8): [
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    ],
    (2, 3): [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")],
    (1, 5): [
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
    ],
    (0, 2): [h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7")],
    (1, 2): [h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")],
    (0, 1): [],
}

CONSISTENCY = {  # (first, second) → PROOF
    (1, 1): [],
    (1, 8): [
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    (6, 8): [
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    ],
    (2, 5): [
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
    ],
    (6, 7): [
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    ],
}


@pytest.fixture(scope="module")
def tree() -> MemoryTree:
    tree = MemoryTree()
    for leaf in LEAVES:
        tree.append(hash_leaf(leaf))
    return tree


def accepts(check: Callable[..., None], *args: object) -> bool:
    try:
        check(*args)
    except ProofError:
        return False
    return True


# --- the hasher -------------------------------------------------------------------------


def test_the_leaf_and_node_hashes_are_the_rfc_6962_hasher_vectors() -> None:
    assert hash_leaf(b"") == h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    assert hash_leaf(b"L123456") == h(
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert hash_children(b"N123", b"N456") == h(
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


def test_the_empty_tree_has_the_hash_of_the_empty_string_as_root() -> None:
    assert EMPTY_ROOT == EMPTY_TREE
    assert MemoryTree().root() == EMPTY_TREE


# --- roots and proofs -------------------------------------------------------------------


@pytest.mark.parametrize("size", sorted(ROOTS))
def test_the_root_of_every_prefix_is_the_reference_root(tree: MemoryTree, size: int) -> None:
    assert tree.root(size) == ROOTS[size]


def test_a_tree_grown_leaf_by_leaf_has_each_reference_root_on_the_way() -> None:
    tree = MemoryTree()
    for size, leaf in enumerate(LEAVES, start=1):
        tree.append(hash_leaf(leaf))
        assert tree.root() == ROOTS[size]


@pytest.mark.parametrize(("index", "size"), sorted(INCLUSION))
def test_inclusion_proofs_are_the_reference_paths_and_verify(
    tree: MemoryTree, index: int, size: int
) -> None:
    proof = tree.inclusion_proof(index, size)
    assert proof == INCLUSION[(index, size)]
    verify_inclusion(hash_leaf(LEAVES[index]), index, size, proof, ROOTS[size])


@pytest.mark.parametrize(("first", "second"), sorted(CONSISTENCY))
def test_consistency_proofs_are_the_reference_proofs_and_verify(
    tree: MemoryTree, first: int, second: int
) -> None:
    if first < second:
        assert tree.consistency_proof(first, second) == CONSISTENCY[(first, second)]
    verify_consistency(first, second, CONSISTENCY[(first, second)], ROOTS[first], ROOTS[second])


def test_every_inclusion_and_consistency_proof_of_the_eight_leaf_tree_verifies(
    tree: MemoryTree,
) -> None:
    for size in range(1, 9):
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            verify_inclusion(hash_leaf(LEAVES[index]), index, size, proof, ROOTS[size])
        for first in range(1, size):
            proof = tree.consistency_proof(first, size)
            verify_consistency(first, size, proof, ROOTS[first], ROOTS[size])


def test_proofs_outside_the_tree_are_not_planned(tree: MemoryTree) -> None:
    with pytest.raises(ProofError):
        tree.inclusion_proof(8, 8)
    with pytest.raises(ProofError):
        tree.inclusion_proof(0, 0)
    with pytest.raises(ProofError):
        tree.consistency_proof(0, 8)
    with pytest.raises(ProofError):
        tree.consistency_proof(5, 4)


# --- corrupted inclusion proofs ---------------------------------------------------------


def corrupt_inclusion(
    index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes
) -> list[tuple[str, bytes, int, int, list[bytes], bytes]]:
    """transparency-dev's corruptInclusionProof: (what, leaf, index, size, proof, root)."""
    probes = [
        ("index - 1", leaf, index - 1, size, proof, root),
        ("index + 1", leaf, index + 1, size, proof, root),
        ("index ^ 2", leaf, index ^ 2, size, proof, root),
        ("size * 2", leaf, index, size * 2, proof, root),
        ("size / 2", leaf, index, size // 2, proof, root),
        ("wrong leaf", b"WrongLeaf", index, size, proof, root),
        ("empty root", leaf, index, size, proof, EMPTY_TREE),
        ("random root", leaf, index, size, proof, SOME_HASH),
        ("trailing garbage", leaf, index, size, [*proof, b""], root),
        ("trailing root", leaf, index, size, [*proof, root], root),
        ("preceding garbage", leaf, index, size, [b"", *proof], root),
        ("preceding root", leaf, index, size, [root, *proof], root),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        probes.append((f"proof[{i}] bit 3 flipped", leaf, index, size, flipped, root))
    if proof:
        probes.append(("removed component", leaf, index, size, proof[:-1], root))
    if len(proof) > 1:
        inserted = [proof[0], SOME_HASH, *proof[1:]]
        probes.append(("inserted component", leaf, index, size, inserted, root))
    return probes


@pytest.mark.parametrize(("index", "size"), sorted(INCLUSION))
def test_inclusion_verification_rejects_every_corrupted_reference_proof(
    index: int, size: int
) -> None:
    leaf, proof, root = hash_leaf(LEAVES[index]), INCLUSION[(index, size)], ROOTS[size]
    verify_inclusion(leaf, index, size, proof, root)
    wrongly_accepted = [
        what
        for what, *probe in corrupt_inclusion(index, size, proof, root, leaf)
        if accepts(verify_inclusion, *probe)
    ]
    assert wrongly_accepted == []


def test_inclusion_verification_rejects_corrupted_proofs_of_every_leaf_of_every_size(
    tree: MemoryTree,
) -> None:
    wrongly_accepted = []
    for size in range(1, 9):
        for index in range(size):
            leaf, proof = hash_leaf(LEAVES[index]), tree.inclusion_proof(index, size)
            for what, *probe in corrupt_inclusion(index, size, proof, ROOTS[size], leaf):
                if accepts(verify_inclusion, *probe):
                    wrongly_accepted.append((index, size, what))
    assert wrongly_accepted == []


def test_inclusion_in_a_single_leaf_tree_needs_the_leaf_to_be_the_root() -> None:
    # transparency-dev TestVerifyInclusionSingleEntry
    leaf = hash_leaf(b"data")
    verify_inclusion(leaf, 0, 1, [], leaf)
    for wrong_leaf, wrong_root in ((b"", leaf), (leaf, b"")):
        with pytest.raises(ProofError):
            verify_inclusion(wrong_leaf, 0, 1, [], wrong_root)


def test_inclusion_verification_rejects_hashes_that_are_not_32_bytes() -> None:
    # transparency-dev TestVerifyInclusionSingleEntry, case "wrong hash size": an empty leaf
    # hash "included" in a one-leaf tree whose root is empty too.
    with pytest.raises(ProofError):
        verify_inclusion(b"", 0, 1, [], b"")


@pytest.mark.parametrize(("index", "size"), [(0, 0), (0, 1), (1, 0), (2, 1)])
def test_inclusion_verification_rejects_impossible_positions_and_mismatched_hashes(
    index: int, size: int
) -> None:
    # transparency-dev TestVerifyInclusion probes
    for leaf, root in ((SOME_HASH, b""), (b"", EMPTY_TREE), (SOME_HASH, EMPTY_TREE)):
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, [], root)


# --- corrupted consistency proofs -------------------------------------------------------


def corrupt_consistency(
    first: int, second: int, root1: bytes, root2: bytes, proof: list[bytes]
) -> list[tuple[str, int, int, list[bytes], bytes, bytes]]:
    """transparency-dev's corruptConsistencyProof: (what, first, second, proof, roots)."""
    probes = [
        ("first - 1", first - 1, second, proof, root1, root2),
        ("first + 1", first + 1, second, proof, root1, root2),
        ("first ^ 2", first ^ 2, second, proof, root1, root2),
        ("second * 2", first, second * 2, proof, root1, root2),
        ("second / 2", first, second // 2, proof, root1, root2),
        ("wrong root1", first, second, proof, b"WrongRoot", root2),
        ("wrong root2", first, second, proof, root1, b"WrongRoot"),
        ("swapped roots", first, second, proof, root2, root1),
        ("empty proof", first, second, [], root1, root2),
        ("trailing garbage", first, second, [*proof, b""], root1, root2),
        ("trailing root1", first, second, [*proof, root1], root1, root2),
        ("trailing root2", first, second, [*proof, root2], root1, root2),
        ("preceding garbage", first, second, [b"", *proof], root1, root2),
        ("preceding root1", first, second, [root1, *proof], root1, root2),
        ("preceding root2", first, second, [root2, *proof], root1, root2),
        ("preceding proof[0]", first, second, [proof[0], *proof], root1, root2),
        ("truncated proof", first, second, proof[:-1], root1, root2),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        probes.append((f"proof[{i}] bit 4 flipped", first, second, flipped, root1, root2))
    return probes


NONTRIVIAL = sorted(pair for pair, proof in CONSISTENCY.items() if proof)


@pytest.mark.parametrize(("first", "second"), NONTRIVIAL)
def test_consistency_verification_rejects_every_corrupted_reference_proof(
    first: int, second: int
) -> None:
    proof, root1, root2 = CONSISTENCY[(first, second)], ROOTS[first], ROOTS[second]
    verify_consistency(first, second, proof, root1, root2)
    wrongly_accepted = [
        what
        for what, *probe in corrupt_consistency(first, second, root1, root2, proof)
        if accepts(verify_consistency, *probe)
    ]
    assert wrongly_accepted == []


def test_consistency_verification_rejects_corrupted_proofs_between_every_pair_of_sizes(
    tree: MemoryTree,
) -> None:
    wrongly_accepted = []
    for second in range(2, 9):
        for first in range(1, second):
            proof = tree.consistency_proof(first, second)
            probes = corrupt_consistency(first, second, ROOTS[first], ROOTS[second], proof)
            for what, *probe in probes:
                if accepts(verify_consistency, *probe):
                    wrongly_accepted.append((first, second, what))
    assert wrongly_accepted == []


@pytest.mark.parametrize(
    ("first", "second", "root1", "root2", "proof"),
    [
        # transparency-dev TestVerifyConsistency's failing cases
        (1, 1, b"don't care 1", b"don't care 2", []),  # equal sizes, different roots
        (1, 0, b"don't care 1", b"don't care 2", []),  # time travel to the past
        (2, 1, b"don't care 1", b"don't care 2", []),
        (1, 2, b"don't care 1", b"don't care 2", []),  # empty proof
        (1, 1, EMPTY_TREE, b"don't care 2", []),
        (1, 1, EMPTY_TREE, EMPTY_TREE, [EMPTY_TREE]),  # equal roots, non-empty proof
        # sizes from zero are refused outright (DESIGN §8: first = 0 → 400)
        (0, 0, EMPTY_TREE, EMPTY_TREE, []),
        (0, 1, EMPTY_TREE, ROOTS[1], []),
    ],
)
def test_consistency_verification_rejects_impossible_or_contradictory_claims(
    first: int, second: int, root1: bytes, root2: bytes, proof: list[bytes]
) -> None:
    with pytest.raises(ProofError):
        verify_consistency(first, second, proof, root1, root2)


def test_equal_sizes_with_equal_roots_are_consistent_with_an_empty_proof() -> None:
    verify_consistency(1, 1, [], ROOTS[1], ROOTS[1])
    verify_consistency(8, 8, [], ROOTS[8], ROOTS[8])
