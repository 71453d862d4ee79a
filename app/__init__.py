"""Maker-checker: a dual-control workflow server."""
