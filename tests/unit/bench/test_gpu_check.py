"""`scripts/gpu-check --tiny`: the lent-GPU check, run on the CPU with the tiny architecture so
it never rots. Same code path as on the GPU: random weights written as folders, loaded by the
production loader into SdxlRenderer with the IP-Adapter, the variants each in a fresh renderer,
the sustained window through the render thread; then `bench audio`. One JSON line per bench."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from media_stream.config import PROJECT_ROOT


def test_gpu_check_tiny_prints_one_json_line_per_bench():
    env = {**os.environ, "PYTHON": sys.executable}
    done = subprocess.run([str(PROJECT_ROOT / "scripts" / "gpu-check"), "--tiny"], capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 2, done.stdout
    sdxl, audio = lines
    assert sdxl["benchmark"] == "sdxl" and sdxl["renderer"].startswith("SdxlRenderer") and sdxl["ip_adapter"] is True
    assert sdxl["weights"] == "random" and set(sdxl["s_per_batch"]) == {"1", "2"} and sdxl["s_per_image"] > 0
    assert sdxl["sustained"]["images"] >= 1 and sdxl["sustained"]["batch"] == sdxl["best_batch"]
    variants = {v["variant"]: v for v in sdxl["breakdown"]}
    assert [v for v in variants if not v.startswith("baseline")] == ["fp16-fix VAE", "fused QKV", "fast profile"]
    assert all(v["s_per_image"] and v["s_per_image"] > 0 for v in variants.values()), variants
    assert variants["fast profile"]["steps"] == 4 and "fast-lora:" in variants["fast profile"]["model"]
    assert "espeak" in audio and audio["espeak"]["rtf"] > 0
