"""Electronic seals on PDF documents: seal registry, grants, sealing and verification."""
