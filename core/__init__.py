"""Shared foundation: settings, database, short-lived store, errors and HTTP security helpers."""
