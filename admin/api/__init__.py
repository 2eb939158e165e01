"""The admin API (``/admin/v1``): routers that parse, call the rule book and render."""
