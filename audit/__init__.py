"""Append-only, tamper-evident audit log: Merkle tree, signed checkpoints, proofs."""
