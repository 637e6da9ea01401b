"""Image renderers: one Protocol (base.py), a registry, one module per backend."""
