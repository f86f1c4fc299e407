"""One module per group of pages, each with its own `router` (joined in api/web/__init__.py)."""
