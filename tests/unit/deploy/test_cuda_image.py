"""The CUDA image carries what the audio models run: the espeak-ng program for Coqui's eSpeak
phonemizer (VITS models that read phonemes), ffmpeg for torchcodec, libsndfile."""

from __future__ import annotations

import re

from tests.unit.deploy.manifests import PROJECT_IMAGES


def apt_packages(dockerfile: str) -> set[str]:
    packages: set[str] = set()
    for command in re.findall(r"apt-get install ([^&]*)", dockerfile.replace("\\\n", " ")):
        packages |= {word for word in command.split() if not word.startswith("-")}
    return packages


def test_cuda_image_installs_the_phonemizer_program():
    runtime_stage = PROJECT_IMAGES["media-stream-cuda"].read_text().split("FROM ${CUDA_IMAGE}")[-1]
    packages = apt_packages(runtime_stage)
    assert "espeak-ng" in packages, f"Coqui's eSpeak phonemizer runs the espeak-ng program; the runtime stage installs {sorted(packages)}"
    assert {"ffmpeg", "libsndfile1", "espeak-ng-data"} <= packages


def test_the_check_sees_a_missing_package():
    assert "espeak-ng" not in apt_packages("RUN apt-get install -y --no-install-recommends libespeak-ng1 espeak-ng-data \\\n && rm -rf x")
