"""The main job end to end on embedded defaults: local Kafka, topics, an agent, a storyboard.

Starts what it needs, publishes a sample storyboard with two recurring characters, prints each
ImageReady as it arrives and the BatchCompleted, says where the PNGs are; then (unless
``audio=False``) narrates each scene and scores the story through an audio agent
(``demo_audio.py``), printing each AudioReady; stops what it started.
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

from media_stream.client.publisher import RequestPublisher
from media_stream.client.subscriber import OutcomeSubscriber
from media_stream.config import Settings
from media_stream.demo_audio import narrate_and_score
from media_stream.domain.outcomes import BatchCompleted, ImageReady, JobFailed
from media_stream.domain.requests import (
    Character,
    Scene,
    StoryboardRequested,
    StyleConfig,
)
from media_stream.runtime.routes import AgentRoutes
from media_stream.topics.spec import TopicResolver

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
            console.print(f"Kafka: configured at [bold]{bootstrap}[/bold]")
        else:
            broker = LocalKafka(settings)
            was_running = broker.status().running
            console.print("Kafka: starting the local KRaft broker (first run resolves its jars from Maven Central)…")
            broker.start()
            if not (was_running or keep_running):
                stack.callback(broker.stop)
            bootstrap = resolve_bootstrap(settings)
            console.print(f"Kafka: local broker at [bold]{bootstrap}[/bold]")

        profile = settings.topics_profile or (None if settings.kafka.bootstrap_servers else "local")
        result = apply_topics(settings, profile=profile, bootstrap=bootstrap)
        console.print(f"Topics: {result.summary}")

        worker = _start_worker(settings, bootstrap, stack)
        console.print(f"Agent: image worker pid {worker.pid} (preview renderer, filesystem store at {settings.storage.root})")
        audio_worker = _start_worker(settings, bootstrap, stack, medium="audio") if audio else None
        if audio_worker is not None:
            a = settings.audio
            console.print(f"Agent: audio worker pid {audio_worker.pid} (speech {a.speech_backend}, music {a.music_backend})")

        routes = AgentRoutes.from_topics(TopicResolver.load(settings.topics_file))
        subscriber = OutcomeSubscriber(settings, [routes.image_ready, routes.batch_completed, routes.job_failed], bootstrap)
        stack.callback(subscriber.close)
        request = sample_storyboard(scenes)
        publisher = RequestPublisher(settings, bootstrap)
        publisher.publish(request)
        publisher.close()
        console.print(f"Published StoryboardRequested job [bold]{request.job_id}[/bold]: {scenes} scenes with Léa and the fox")
        code = _follow(subscriber, request, worker, console)
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


def _follow(subscriber: OutcomeSubscriber, request: StoryboardRequested, worker: subprocess.Popen, console: Console) -> int:
    started = time.monotonic()
    for _topic, event in subscriber.events(timeout_s=120):
        if getattr(event, "job_id", None) != request.job_id:
            continue
        if isinstance(event, ImageReady):
            console.print(f"  ImageReady  {event.scene_id}  {event.width}x{event.height}  seed={event.seed}  {event.storage_key}")
        elif isinstance(event, BatchCompleted):
            console.print(f"BatchCompleted: {event.total_images} images, {len(event.failures)} failures, in {time.monotonic() - started:.1f}s")
            folder = Path(event.images[0].url.removeprefix("file://")).parent.parent if event.images else None
            console.print(f"PNG files: [bold]{folder}[/bold]")
            for image in event.images:
                console.print(f"  {image.url.removeprefix('file://')}")
            return 0 if not event.failures else 1
        elif isinstance(event, JobFailed):
            console.print(f"[red]JobFailed:[/red] {event.reason}")
            return 1
        if worker.poll() is not None:
            console.print(f"[red]the worker exited with code {worker.returncode}; see its log[/red]")
            return 1
    console.print("[red]no BatchCompleted within 120 s of silence[/red]")
    return 1
