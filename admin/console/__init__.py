"""The web console (``/admin/``): administrators sign in through our own IdP like any
department app and act through the same rule book as the admin API."""
