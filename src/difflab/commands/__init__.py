"""One module per `difflab` sub-command; each exposes ``register(subparsers)``."""
