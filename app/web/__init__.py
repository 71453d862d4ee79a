"""Cross-cutting HTTP pieces: error responses, rendering helpers. No business logic."""
