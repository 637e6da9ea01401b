"""Speech and music renderers: one Protocol per medium (base.py), a registry, one module per backend."""
