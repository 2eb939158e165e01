"""HTTP routers of ``audit``: checkpoints, proofs, the log key (public) and entries (auditors)."""
