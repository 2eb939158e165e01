"""Framework-free protocol logic of the identity provider, named after the specs."""
