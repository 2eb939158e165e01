"""HTTP routers of the identity provider."""
