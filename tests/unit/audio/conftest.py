"""Tiny VITS and MusicGen folders, built once per session into temporary folders and loaded
through the production loaders. No network: the hub is switched off."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before huggingface_hub is imported anywhere

import numpy as np
import pytest

from media_stream.config import AudioSettings


@pytest.fixture(scope="session")
def tiny_vits(tmp_path_factory):
    pytest.importorskip("TTS", reason="the audio extra is not installed")
    from tests.tiny_models.vits import build_vits_folder

    return build_vits_folder(tmp_path_factory.mktemp("tiny-vits") / "vits", speakers=("p225", "p226"))


@pytest.fixture(scope="session")
def tiny_musicgen(tmp_path_factory):
    from tests.tiny_models.musicgen import build_musicgen_folder

    return build_musicgen_folder(tmp_path_factory.mktemp("tiny-musicgen") / "musicgen")


@pytest.fixture(scope="session")
def espeak():
    from media_stream.render.audio.espeak import EspeakRenderer

    renderer = EspeakRenderer()
    renderer.load()
    return renderer


def median_f0(samples: np.ndarray, sample_rate: int) -> float:
    """Median fundamental (Hz) over voiced frames (pYIN)."""
    import librosa

    f0, voiced, _ = librosa.pyin(samples, fmin=50, fmax=600, sr=sample_rate, frame_length=1024)
    return float(np.nanmedian(f0[voiced]))


def rms_db(samples: np.ndarray) -> float:
    return 20 * np.log10(float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) + 1e-12)


@pytest.fixture
def audio_settings() -> AudioSettings:
    return AudioSettings(device="cpu")
