"""OpenID Connect identity provider: accounts, sessions, login pages, tokens."""
