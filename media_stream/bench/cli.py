"""`media-stream bench ...`: each benchmark prints progress to stderr and, as its last stdout
line, one JSON object with its figures (and the device they were measured on)."""

from __future__ import annotations

import sys

import typer

bench_app = typer.Typer(help="Benchmarks: figures as JSON (last line), never pass/fail.", no_args_is_help=True)


@bench_app.command("sdxl")
def sdxl(
    as_json: bool = typer.Option(False, "--json", help="Only the JSON line on stdout (progress on stderr)."),
    tiny: bool = typer.Option(False, "--tiny", help="Tiny architecture on the CPU: a smoke run of the benchmark."),
    model: str = typer.Option(None, help="SDXL weights (folder or cached hub id); default: worker.sdxl.model."),
    batches: str = typer.Option(None, help="Batch sizes, comma-separated (default 1,2,4,8; --tiny 1,2)."),
    steps: int = typer.Option(None, help="Denoising steps (default 30; --tiny 3)."),
    sustained_s: float = typer.Option(None, "--sustained-s", help="Seconds of the sustained window at the best batch (0: none)."),
    variants: str = typer.Option("all", help="Optimisations toggled alone, comma-separated names, 'all' or 'none'."),
    budget_s: float = typer.Option(None, "--budget-s", help="Variants that would start after this many seconds are skipped."),
) -> None:
    """SDXL through SdxlRenderer (IP-Adapter loaded) at 1024x1024, 30 steps, CFG: s/image, images/min
    at the best batch, a sustained window's GPU use, memory, and each optimisation alone."""
    try:
        from media_stream.bench.sdxl import VARIANTS, main
    except ImportError as exc:
        raise typer.BadParameter(f"needs the image extra (uv sync --extra image): {exc}") from exc
    from media_stream.config import get_settings

    chosen = VARIANTS if variants == "all" else () if variants == "none" else tuple(v.strip() for v in variants.split(","))
    unknown = [v for v in chosen if v not in VARIANTS]
    if unknown:
        raise typer.BadParameter(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    sizes = tuple(int(b) for b in batches.split(",")) if batches else None
    main(tiny=tiny, as_json=as_json, model=model or get_settings().worker.sdxl.model, batches=sizes, steps=steps,
         sustained_s=sustained_s, variants=chosen, budget_s=budget_s)  # fmt: skip


@bench_app.command("calibrate-consistency")
def calibrate_consistency(
    labels: str = typer.Argument(..., help="JSON Lines of labelled pairs: scene, reference, same, optional region."),
    model: str = typer.Option(None, help="Image encoder (folder or cached hub id); default: worker.sdxl.consistency_model."),
) -> None:
    """The consistency threshold that best separates labelled same/different-character pairs
    (Youden's J), scored as the agent scores them; prints one JSON object."""
    import json
    from pathlib import Path

    from media_stream.config import get_settings
    from media_stream.render.image.consistency import ImageEncoderEmbedder
    from media_stream.render.image.consistency_calibration import best_threshold, score_pairs

    sdxl = get_settings().worker.sdxl
    embedder = ImageEncoderEmbedder(model or sdxl.consistency_model or "", local_files_only=True)
    scores, same = score_pairs(embedder, Path(labels))
    result = best_threshold(scores, same).as_dict()
    typer.echo(json.dumps({**result, "model": model or sdxl.consistency_model, "configured": sdxl.consistency_threshold}))


@bench_app.command("audio")
def audio(
    as_json: bool = typer.Option(False, "--json", help="Only the JSON line on stdout (progress on stderr)."),
    seconds: float = typer.Option(10.0, help="Seconds of music per backend (speech: a fixed paragraph)."),
    no_models: bool = typer.Option(False, "--no-models", help="Only the embedded backends (espeak, procedural)."),
    musicgen_size: str = typer.Option("auto", "--musicgen-size", help="MusicGen architecture when no weights are configured: auto (medium on CUDA, small on CPU), small, medium, large."),
) -> None:
    """Real-time factor (render time / audio time) per audio backend, each after an untimed
    warm-up; coqui VITS and MusicGen with random weights of the real architectures when no
    weights are configured; on CUDA also MusicGen 30 s and a two-window piece's seams."""
    from media_stream.bench.audio import main

    if musicgen_size not in ("auto", "small", "medium", "large"):
        raise typer.BadParameter(f"--musicgen-size {musicgen_size!r}: auto, small, medium or large")
    main(as_json=as_json, music_seconds=seconds, with_models=not no_models, musicgen_size=musicgen_size)


@bench_app.command()
def pipeline(
    requests: int = typer.Option(2000, help="Requests in the throughput burst."),
    projects: int = typer.Option(100, help="Distinct projects (message keys)."),
    rates: str = typer.Option("50,200,500", help="Paced runs (5 s each), requests per second, comma-separated."),
    baseline_ref: str = typer.Option("", "--baseline-ref", help="Also measure our agent as it was at these git refs, comma-separated (before/after)."),
    commit_shards: str = typer.Option("", "--commit-shards", help="Also measure ours with these worker.commit_shards values, comma-separated."),
    repeat: int = typer.Option(1, help="Rounds (order reversed every other round); figures are medians."),
    peer: bool = typer.Option(True, "--peer/--no-peer", help="Measure the Quix Streams peer (its own venv under ~/.media-stream/peers)."),
    ordering: bool = typer.Option(True, "--ordering/--no-ordering", help="Also run the key-ordering benchmark."),
    as_json: bool = typer.Option(True, "--json/--no-json", help="Last line: one JSON object."),
) -> None:
    """Our agent vs a bare confluent-kafka EOS loop, the same loop publishing our messages, and a
    Quix Streams peer, on one broker; latency at paced rates; key-ordering."""
    import json
    import logging

    from media_stream.bench.pipeline import pipeline_benchmark
    from media_stream.config import get_settings

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    paced = tuple(float(r) for r in rates.split(",") if r.strip())
    refs = tuple(r.strip() for r in baseline_ref.split(",") if r.strip())
    shards = tuple(int(n) for n in commit_shards.split(",") if n.strip())
    result = pipeline_benchmark(get_settings(), requests, projects, paced, baseline_refs=refs, peer=peer, ordering=ordering, commit_shards=shards, repeat=repeat)
    typer.echo(json.dumps(result) if as_json else json.dumps(result, indent=2))


@bench_app.command()
def scale(
    as_json: bool = typer.Option(True, "--json/--no-json", help="Last line: one JSON object."),
    hold_s: float = typer.Option(0.25, help="Seconds the stand-in renderer holds each batch."),
    max_batch_size: int = typer.Option(4, help="Largest batch per render call."),
    projects: int = typer.Option(48, help="Projects (keys), spread evenly over the 12 partitions."),
    seconds_at_one: float = typer.Option(12.0, help="Work per run sized to take this long at the agents' ceiling."),
    agents: str = typer.Option("1,2,4", help="Agent process counts to run, comma-separated."),
) -> None:
    """Requests/s with 1, 2 and 4 agent processes in one group (the "hold" stand-in renderer),
    speedup and efficiency against linear; progress on stderr."""
    import json

    from media_stream.bench.scale import scale_benchmark
    from media_stream.config import get_settings

    counts = tuple(int(n) for n in agents.split(","))
    result = scale_benchmark(get_settings(), counts, hold_s, max_batch_size, projects, seconds_at_one)
    typer.echo(json.dumps(result) if as_json else json.dumps(result, indent=2))


@bench_app.command()
def load(
    requests: int = typer.Option(10_000, help="Requests sent at once."),
    projects: int = typer.Option(500, help="Distinct projects (message keys)."),
    renderer: str = typer.Option("null", help="Stand-in renderer: null (fixed tiny PNG) or preview (real PNGs)."),
    as_json: bool = typer.Option(True, "--json/--no-json", help="Last line: one JSON object."),
) -> None:
    """N requests over P projects through one agent with a stand-in renderer: throughput, p50/p99,
    peak RSS, and the accounting (lost, duplicates, out of order)."""
    import json

    from media_stream.bench.load import load_benchmark
    from media_stream.config import get_settings

    result = load_benchmark(get_settings(), requests, projects, renderer)
    typer.echo(json.dumps(result) if as_json else json.dumps(result, indent=2))


@bench_app.command()
def soak(
    minutes: float = typer.Option(30.0, help="How long the steady traffic runs."),
    rate: float = typer.Option(50.0, help="Requests per second."),
    projects: int = typer.Option(500, help="Distinct projects (message keys)."),
    sample_s: float = typer.Option(10.0, help="Seconds between samples of RSS, lag and latency."),
    renderer: str = typer.Option("null", help="Stand-in renderer: null or preview."),
    as_json: bool = typer.Option(True, "--json/--no-json", help="Last line: one JSON object."),
) -> None:
    """Steady traffic for MINUTES: RSS, consumer lag and latency sampled over time, and their
    growth (not in CI: 30 minutes by default); samples on stderr as they come."""
    import json

    from media_stream.bench.soak import soak_benchmark
    from media_stream.config import get_settings

    result = soak_benchmark(get_settings(), minutes, rate, projects, sample_s, renderer=renderer)
    typer.echo(json.dumps(result) if as_json else json.dumps(result, indent=2))
