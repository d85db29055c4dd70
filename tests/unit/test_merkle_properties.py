"""Property: for trees of any size, the proofs ``MemoryTree`` plans over stored subtrees are
exactly the RFC's recursive definitions, and they verify with an independent verifier.

The reference below is written here from the RFC texts alone, not from ``ledger.merkle``:
MTH, PATH and SUBPROOF from RFC 6962 §2.1 (§2.1.1, §2.1.2), and the verification
algorithms of RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency).
"""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import merkle
from ledger.merkle import MemoryTree, ProofError


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def node(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Reference:
    """RFC 6962 §2.1 over leaf hashes, recursively, with MTH memoised per range."""

    def __init__(self, leaf_hashes: list[bytes]) -> None:
        self.leaves = leaf_hashes
        self.memo: dict[tuple[int, int], bytes] = {}

    def mth(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        if n == 0:
            return sha256(b"")
        if n == 1:
            return self.leaves[lo]
        if (lo, hi) not in self.memo:
            k = largest_power_of_two_below(n)
            self.memo[(lo, hi)] = node(self.mth(lo, lo + k), self.mth(lo + k, hi))
        return self.memo[(lo, hi)]

    def path(self, m: int, lo: int, hi: int) -> list[bytes]:
        n = hi - lo
        if n == 1:
            return []
        k = largest_power_of_two_below(n)
        if m < k:
            return [*self.path(m, lo, lo + k), self.mth(lo + k, hi)]
        return [*self.path(m - k, lo + k, hi), self.mth(lo, lo + k)]

    def proof(self, m: int, n: int) -> list[bytes]:
        return self.subproof(m, 0, n, True)

    def subproof(self, m: int, lo: int, hi: int, complete: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if complete else [self.mth(lo, hi)]
        k = largest_power_of_two_below(n)
        if m <= k:
            return [*self.subproof(m, lo, lo + k, complete), self.mth(lo + k, hi)]
        return [*self.subproof(m - k, lo + k, hi, False), self.mth(lo, lo + k)]


def rfc9162_verify_inclusion(
    leaf_index: int, tree_size: int, leaf: bytes, path: list[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2, step by step."""
    if leaf_index >= tree_size:
        return False
    fn, sn, r = leaf_index, tree_size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn //= 2
                    sn //= 2
        else:
            r = node(r, p)
        fn //= 2
        sn //= 2
    return sn == 0 and r == root


def rfc9162_verify_consistency(
    first: int, second: int, first_hash: bytes, second_hash: bytes, path: list[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2, step by step (first ≥ 1; first = second needs an empty path)."""
    if first == second:
        return path == [] and first_hash == second_hash
    if first > second or first == 0:
        return False
    path = list(path)
    if first & (first - 1) == 0:  # an exact power of 2
        path = [first_hash, *path]
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn //= 2
        sn //= 2
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn //= 2
                    sn //= 2
        else:
            sr = node(sr, c)
        fn //= 2
        sn //= 2
    return fr == first_hash and sr == second_hash and sn == 0


def flip(proof: list[bytes], at: int) -> list[bytes]:
    flipped = list(proof)
    flipped[at] = bytes([flipped[at][0] ^ 1]) + flipped[at][1:]
    return flipped


def build(size: int, salt: bytes) -> tuple[MemoryTree, Reference]:
    leaves = [sha256(b"\x00" + salt + i.to_bytes(4, "big")) for i in range(size)]
    tree = MemoryTree()
    for leaf in leaves:
        tree.append(leaf)
    return tree, Reference(leaves)


# Uniform sizes, plus the edges of a power of two that random draws rarely hit.
SIZES = st.one_of(
    st.sampled_from([1, 2, 3, 1024, 1025, 2047, 2048, 2049, 3000]),
    st.integers(min_value=1, max_value=3000),
)
SALTS = st.binary(max_size=8)


@settings(max_examples=50, deadline=None)
@given(size=SIZES, salt=SALTS, data=st.data())
def test_every_root_and_inclusion_proof_is_the_rfc_path_and_verifies_independently(
    size: int, salt: bytes, data: st.DataObject
) -> None:
    tree, reference = build(size, salt)
    assert tree.root() == reference.mth(0, size)
    sizes = {size, *data.draw(st.lists(st.integers(1, size), max_size=4), label="sizes")}
    for n in sorted(sizes):
        root = reference.mth(0, n)
        assert tree.root(n) == root
        picked = data.draw(st.lists(st.integers(0, n - 1), max_size=6), label="indexes")
        for index in sorted({0, n - 1, *picked}):
            proof = tree.inclusion_proof(index, n)
            assert proof == reference.path(index, 0, n), (index, n)
            assert rfc9162_verify_inclusion(index, n, reference.leaves[index], proof, root)
            # and the independent verifier is not a rubber stamp
            assert not rfc9162_verify_inclusion(
                index, n, reference.leaves[index], proof, node(root, root)
            )
            if proof:
                assert not rfc9162_verify_inclusion(
                    index, n, reference.leaves[index], flip(proof, len(proof) - 1), root
                )


@settings(max_examples=50, deadline=None)
@given(size=SIZES, salt=SALTS, data=st.data())
def test_every_consistency_proof_is_the_rfc_proof_and_verifies_independently(
    size: int, salt: bytes, data: st.DataObject
) -> None:
    tree, reference = build(size, salt)
    pairs = {(1, size), (size, size)}
    for _ in range(data.draw(st.integers(1, 10), label="pairs")):
        first = data.draw(st.integers(1, size), label="first")
        pairs.add((first, data.draw(st.integers(first, size), label="second")))
    for first, second in sorted(pairs):
        proof = tree.consistency_proof(first, second)
        assert proof == reference.proof(first, second), (first, second)
        root1, root2 = reference.mth(0, first), reference.mth(0, second)
        assert rfc9162_verify_consistency(first, second, root1, root2, proof), (first, second)
        if proof:
            assert not rfc9162_verify_consistency(first, second, root1, root2, flip(proof, 0))
            assert not rfc9162_verify_consistency(first, second, root2, root1, proof)


@settings(max_examples=30, deadline=None)
@given(size=st.integers(min_value=2, max_value=600), salt=SALTS, data=st.data())
def test_the_ledger_verifiers_agree_with_the_independent_ones_on_good_and_bad_proofs(
    size: int, salt: bytes, data: st.DataObject
) -> None:
    tree, reference = build(size, salt)

    def ledger_accepts_inclusion(index: int, n: int, proof: list[bytes], root: bytes) -> bool:
        try:
            merkle.verify_inclusion(reference.leaves[index], index, n, proof, root)
        except ProofError:
            return False
        return True

    def ledger_accepts_consistency(m: int, n: int, proof: list[bytes]) -> bool:
        try:
            merkle.verify_consistency(m, n, proof, reference.mth(0, m), reference.mth(0, n))
        except ProofError:
            return False
        return True

    for _ in range(5):
        n = data.draw(st.integers(1, size), label="n")
        index = data.draw(st.integers(0, n - 1), label="index")
        proof, root = tree.inclusion_proof(index, n), reference.mth(0, n)
        claimed = data.draw(st.integers(0, n - 1), label="claimed index")
        for candidate, at in ((proof, index), (proof, claimed), (proof[:-1], index)):
            expected = rfc9162_verify_inclusion(at, n, reference.leaves[index], candidate, root)
            assert ledger_accepts_inclusion(at, n, candidate, root) == expected
        if proof:
            bad = flip(proof, data.draw(st.integers(0, len(proof) - 1), label="flip"))
            assert not ledger_accepts_inclusion(index, n, bad, root)

        m = data.draw(st.integers(1, n), label="m")
        proof = tree.consistency_proof(m, n)
        assert ledger_accepts_consistency(m, n, proof)
        for candidate in (proof[:-1], [*proof, root], proof[1:]):
            expected = rfc9162_verify_consistency(
                m, n, reference.mth(0, m), reference.mth(0, n), candidate
            )
            assert ledger_accepts_consistency(m, n, candidate) == expected
