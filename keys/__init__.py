"""Key hierarchy and key custody: key stores, CAs, seal keys, token-signing keys, CRL/OCSP/TSA."""
