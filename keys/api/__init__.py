"""HTTP routers of ``keys``: CA certificates, CRLs, OCSP, time-stamping and JWKS."""
