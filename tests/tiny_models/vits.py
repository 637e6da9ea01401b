"""A tiny Coqui VITS model folder, laid out like a downloaded one (``config.json`` +
``model_file.pth`` holding ``{"model": state_dict}``): raw characters (no phonemizer, so no
espeak program), small channels (~0.4 M parameters), random but seeded weights. It speaks
noise-like audio through the real VITS code and the real ``Synthesizer`` loader.

The builder lives in the package (``media_stream/bench/random_audio_models.py``) because the
benchmark builds the full-size architecture with it too.
"""

from __future__ import annotations

from media_stream.bench.random_audio_models import build_vits_folder

__all__ = ["build_vits_folder"]
