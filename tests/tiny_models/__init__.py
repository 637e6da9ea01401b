"""Builders of tiny models with random weights and the real architectures, saved offline.

They exercise the production loading code (``from_pretrained`` on a local folder) with no model
hub and in well under a second per image on a CPU.
"""
