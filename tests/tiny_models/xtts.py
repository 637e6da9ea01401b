"""A tiny XTTS v2 folder, laid out like ``tts_models/multilingual/multi-dataset/xtts_v2``
(``config.json`` with ``model: xtts``, ``model.pth``, a BPE ``vocab.json``, ``speakers_xtts.pth``
with studio speakers): a 1-layer 32-wide GPT with XTTS's own HiFi-GAN decoder and speaker
encoder, random seeded weights. The builder lives in ``media_stream/bench/random_audio_models.py``
beside the VITS and MusicGen ones."""

from __future__ import annotations

from media_stream.bench.random_audio_models import build_xtts_folder

__all__ = ["build_xtts_folder"]
