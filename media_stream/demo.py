"""The main job end to end on embedded defaults: local Kafka, topics, an agent, a storyboard.

Starts what it needs, publishes a sample storyboard with two recurring characters, prints each
ImageReady as it arrives and the BatchCompleted, says where the PNGs are; then (unless
``audio=False``) narrates each scene and scores the story through an audio agent
(``demo_audio.py``), printing each AudioReady; stops what it started. It follows the job with
the SDK's JobHandle, so it ends by the one job-end rule (``media_stream.client.job_end``): the
BatchCompleted and every ImageReady it lists.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from media_stream.client.sdk import JobHandle, MediaStreamClient
from media_stream.config import Settings
from media_stream.demo_audio import narrate_and_score
from media_stream.domain.outcomes import BatchCompleted, ImageReady, JobFailed, JobStatusChanged
from media_stream.domain.requests import Character, Scene, StoryboardRequested, StyleConfig

LEA = Character("lea", "Léa", "a girl of eight with a yellow raincoat and curly brown hair")
FOX = Character("fox", "the fox", "a small red fox with a blue scarf")
STORY = [
    ("Léa finds a small fox hiding under the old oak in the rain", (LEA, FOX)),
    ("Léa and the fox walk through the village market", (LEA, FOX)),
    ("the fox leads Léa to a glowing door in the forest", (LEA, FOX)),
    ("Léa waves goodbye as the fox runs back to the woods", (LEA, FOX)),
    ("the fox watches the moon alone on a hill", (FOX,)),
    ("Léa tells her grandmother about the fox", (LEA,)),
]


def sample_storyboard(scenes: int) -> StoryboardRequested:
    run = uuid.uuid4().hex[:8]
    chosen = [STORY[i % len(STORY)] for i in range(scenes)]
    return StoryboardRequested(
        request_id=f"demo-req-{run}",
        job_id=f"demo-job-{run}",
        project_id="demo-lea-and-the-fox",
        scenes=tuple(Scene(f"scene-{i + 1:02d}", prompt, chars) for i, (prompt, chars) in enumerate(chosen)),
        style_config=StyleConfig(style="watercolor", width=512, height=384, steps=20, seed=None),
    )


def run_demo(settings: Settings, scenes: int, keep_running: bool, console: Console, audio: bool = True) -> int:
    from media_stream.dev.local_kafka import LocalKafka
    from media_stream.kafka.config import resolve_bootstrap
    from media_stream.topics.apply import apply_topics

    _log_to_file(Path(settings.storage.root).parent / "demo.log")
    with ExitStack() as stack:
        if settings.kafka.bootstrap_servers:
            bootstrap = settings.kafka.bootstrap_servers
            console.print(f"Kafka: configured at [bold]{escape(bootstrap)}[/bold]", markup=True)
        else:
            broker = LocalKafka(settings)
            was_running = broker.status().running
            console.print("Kafka: starting the local KRaft broker (first run resolves its jars from Maven Central)…")
            broker.start()
            if not (was_running or keep_running):
                stack.callback(broker.stop)
            bootstrap = resolve_bootstrap(settings)
            console.print(f"Kafka: local broker at [bold]{escape(bootstrap)}[/bold]", markup=True)

        profile = settings.topics_profile or (None if settings.kafka.bootstrap_servers else "local")
        result = apply_topics(settings, profile=profile, bootstrap=bootstrap)
        console.print(f"Topics: {result.summary}")

        worker = _start_worker(settings, bootstrap, stack)
        console.print(f"Agent: image worker pid {worker.pid} (preview renderer, filesystem store at {settings.storage.root})")
        audio_worker = _start_worker(settings, bootstrap, stack, medium="audio") if audio else None
        if audio_worker is not None:
            a = settings.audio
            console.print(f"Agent: audio worker pid {audio_worker.pid} (speech {a.speech_backend}, music {a.music_backend})")

        client = stack.enter_context(MediaStreamClient(settings, bootstrap))
        request = sample_storyboard(scenes)
        handle = client.submit(request)
        console.print(f"Published StoryboardRequested job [bold]{escape(request.job_id)}[/bold]: {scenes} scenes with Léa and the fox", markup=True)
        code = _follow(handle, worker, console)
        if audio_worker is not None:
            code = max(code, narrate_and_score(settings, bootstrap, request, audio_worker, console))
        return code


def _log_to_file(path: Path) -> None:
    """Client and librdkafka logs go to a file; the console shows the story."""
    path.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=path, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


def _start_worker(settings: Settings, bootstrap: str, stack: ExitStack, medium: str = "image") -> subprocess.Popen:
    log_path = Path(settings.storage.root).parent / ("demo-worker.log" if medium == "image" else f"demo-{medium}-worker.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = stack.enter_context(open(log_path, "ab"))
    process = subprocess.Popen(
        [sys.executable, "-m", "media_stream.cli", "worker", medium, "--bootstrap", bootstrap],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )

    def stop() -> None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()

    stack.callback(stop)
    return process


def _follow(handle: JobHandle, worker: subprocess.Popen, console: Console) -> int:
    started = time.monotonic()
    say = lambda text: console.print(text, markup=False, emoji=False, highlight=False)  # noqa: E731 - data printed literally
    try:
        for event in handle.events(timeout_s=120, on_notice=lambda notice: say(f"  note: {notice}")):
            if isinstance(event, ImageReady):
                say(f"  ImageReady  {event.scene_id}  {event.width}x{event.height}  seed={event.seed}  {event.storage_key}")
            if worker.poll() is not None:
                console.print(f"[red]the worker exited with code {worker.returncode}; see its log[/red]", markup=True)
                return 1
    except TimeoutError:
        console.print("[red]no BatchCompleted within 120 s of silence[/red]", markup=True)
        return 1
    outcome = handle.outcome
    if isinstance(outcome, BatchCompleted):
        say(f"BatchCompleted: {outcome.total_images} images, {len(outcome.failures)} failures, in {time.monotonic() - started:.1f}s")
        folder = Path(outcome.images[0].url.removeprefix("file://")).parent.parent if outcome.images else None
        console.print(f"PNG files: [bold]{escape(str(folder))}[/bold]", markup=True)
        for image in outcome.images:
            say(f"  {image.url.removeprefix('file://')}")
        return 0 if not outcome.failures else 1
    if isinstance(outcome, JobFailed):
        console.print("[red]JobFailed:[/red] ", end="", markup=True)
        say(outcome.reason)
    elif isinstance(outcome, JobStatusChanged):
        say(f"job {outcome.status}: {outcome.error or ''}")
    return 1
