"""The RFC 6962 / RFC 9162 Merkle tree: hashing, proofs planned over stored subtrees, checks.

A tree over leaf hashes is addressed by **full subtrees**: node ``(level, index)`` is the
hash of leaves ``[index·2^level, (index+1)·2^level)``; leaves are level 0. Only full
subtrees are ever stored (each once, when its last leaf arrives), so the hash of any
range the RFC's recursion asks for is a right fold of O(log n) stored nodes, and a root,
an inclusion proof or a consistency proof is planned as a handful of node lists, read in
one query and folded. ``verify_inclusion`` and ``verify_consistency`` are RFC 9162
§2.1.3.2 and §2.1.4.2, for the witness, the audit and offline bundles.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

NodeId = tuple[int, int]  # (level, index)
Plan = list[list[NodeId]]  # each element: the nodes whose right fold is one proof hash

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof does not verify, or asks about sizes the tree does not have."""


def hash_leaf(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (n ≥ 2): where RFC 6962 splits."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(lo: int, hi: int) -> list[NodeId]:
    """The full subtrees whose right fold is MTH(D[lo:hi]), left to right.

    Valid for the ranges the RFC's recursion produces (``lo`` aligned to a power of two at
    least as large as the range's largest full subtree).
    """
    nodes: list[NodeId] = []
    while lo < hi:
        size = 1 << ((hi - lo).bit_length() - 1)
        while lo % size:
            size >>= 1
        nodes.append((size.bit_length() - 1, lo // size))
        lo += size
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """Right fold: H(h0, H(h1, … H(h_{k-2}, h_{k-1})))."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = hash_children(left, result)
    return result


def root_plan(size: int) -> list[NodeId]:
    return range_nodes(0, size)


def inclusion_plan(index: int, size: int) -> Plan:
    """PATH(index, D[0:size]) of RFC 6962 §2.1.1, as node lists, from the leaf up."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is not in a tree of size {size}")
    plan: Plan = []

    def path(m: int, lo: int, hi: int) -> None:
        n = hi - lo
        if n == 1:
            return
        k = split_point(n)
        if m < k:
            path(m, lo, lo + k)
            plan.append(range_nodes(lo + k, hi))
        else:
            path(m - k, lo + k, hi)
            plan.append(range_nodes(lo, lo + k))

    path(index, 0, size)
    return plan


def consistency_plan(first: int, second: int) -> Plan:
    """PROOF(first, D[0:second]) of RFC 6962 §2.1.2, as node lists."""
    if not 0 < first <= second:
        raise ProofError(f"no consistency proof from size {first} to size {second}")
    plan: Plan = []

    def subproof(m: int, lo: int, hi: int, complete: bool) -> None:
        n = hi - lo
        if m == n:
            if not complete:
                plan.append(range_nodes(lo, hi))
            return
        k = split_point(n)
        if m <= k:
            subproof(m, lo, lo + k, complete)
            plan.append(range_nodes(lo + k, hi))
        else:
            subproof(m - k, lo + k, hi, False)
            plan.append(range_nodes(lo, lo + k))

    subproof(first, 0, second, True)
    return plan


def plan_nodes(plan: Iterable[Iterable[NodeId]]) -> set[NodeId]:
    return {node for element in plan for node in element}


def resolve(plan: Plan, nodes: Mapping[NodeId, bytes]) -> list[bytes]:
    """The proof hashes of a plan, given the stored nodes it names."""
    return [fold([nodes[node] for node in element]) for element in plan]


def root_from(size: int, nodes: Mapping[NodeId, bytes]) -> bytes:
    return EMPTY_ROOT if size == 0 else fold([nodes[n] for n in root_plan(size)])


def new_nodes(index: int, leaf: bytes, nodes: Mapping[NodeId, bytes]) -> list[tuple[NodeId, bytes]]:
    """The full subtrees completed by appending leaf ``index`` (the leaf itself first)."""
    created: list[tuple[NodeId, bytes]] = [((0, index), leaf)]
    level, i, current = 0, index, leaf
    while i % 2 == 1:  # a right child completes its parent; left siblings are all stored
        current = hash_children(nodes[(level, i - 1)], current)
        level, i = level + 1, i // 2
        created.append(((level, i), current))
    return created


HASH_SIZE = 32


def _check_sizes(*hashes: bytes) -> None:
    if any(len(h) != HASH_SIZE for h in hashes):
        raise ProofError(f"every hash in a proof, a leaf and a root is {HASH_SIZE} bytes")


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2; raises ``ProofError`` unless the proof holds."""
    _check_sizes(leaf, root, *proof)
    if not 0 <= index < size:
        raise ProofError(f"index {index} is not in a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hash_children(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    if r != root:
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(
    first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes
) -> None:
    """RFC 9162 §2.1.4.2; raises ``ProofError`` unless the proof holds."""
    _check_sizes(first_root, second_root, *proof)
    if not 0 < first <= second:
        raise ProofError(f"no consistency proof from size {first} to size {second}")
    if first == second:
        if proof:
            raise ProofError("a proof between equal sizes must be empty")
        if first_root != second_root:
            raise ProofError("equal sizes with different roots")
        return
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two: its root starts the path
        path.insert(0, first_root)
    if not path:
        raise ProofError("empty consistency proof")
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = hash_children(c, fr), hash_children(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = hash_children(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != first_root or sr != second_root:
        raise ProofError("consistency proof does not lead to both roots")


class MemoryTree:
    """A tree held in memory (tests, bundles, the witness's replay): same plans, same hashes."""

    def __init__(self) -> None:
        self.size = 0
        self.nodes: dict[NodeId, bytes] = {}

    def append(self, leaf: bytes) -> None:
        for node, value in new_nodes(self.size, leaf, self.nodes):
            self.nodes[node] = value
        self.size += 1

    def root(self, size: int | None = None) -> bytes:
        return root_from(self.size if size is None else size, self.nodes)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return resolve(inclusion_plan(index, self.size if size is None else size), self.nodes)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        return resolve(consistency_plan(first, self.size if second is None else second), self.nodes)
