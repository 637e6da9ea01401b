"""A tiny MusicGen folder, laid out like ``facebook/musicgen-small``: a transformers
``MusicgenForConditionalGeneration`` (1-layer T5 text encoder, a small EnCodec at 32 kHz /
50 Hz with 4 codebooks of 2048 randomised entries, a 2-layer decoder) and its
``MusicgenProcessor`` (a T5 unigram tokenizer built from a word list, EnCodec's feature
extractor). Random but seeded weights; ~1 s of audio in ~0.1 s on a CPU.

The builder lives in the package (``media_stream/bench/random_audio_models.py``) because the
benchmark builds musicgen-small's full architecture with it too.
"""

from __future__ import annotations

from media_stream.bench.random_audio_models import build_musicgen_folder, build_tokenizer

__all__ = ["build_musicgen_folder", "build_tokenizer"]
