"""One module per CLI verb family; each exposes ``register(group)``."""
