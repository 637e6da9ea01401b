"""The demo's audio phase (the card's Flow 5: images, then audio): narrate each scene of the
storyboard and score the story with music, through the audio agent the demo started.

Backends are the audio agent's configuration (eSpeak NG and the procedural composer by default).
Prints each AudioReady with its duration, voice (or music style) and file path.
"""

from __future__ import annotations

import time

from rich.console import Console

from media_stream.client.publisher import RequestPublisher
from media_stream.client.subscriber import OutcomeSubscriber
from media_stream.config import Settings
from media_stream.domain.outcomes import AudioReady, JobFailed
from media_stream.domain.requests import MusicRequested, NarrationRequested, StoryboardRequested
from media_stream.runtime.routes import AgentRoutes
from media_stream.topics.spec import TopicResolver

# One line per STORY scene of demo.py, in its order (French: the default voice is fr-FR-Denise).
NARRATION = (
    "Sous le vieux chêne, dans la pluie, Léa découvre un petit renard caché.",
    "Léa et le renard traversent ensemble le marché du village.",
    "Le renard conduit Léa jusqu'à une porte lumineuse, au fond de la forêt.",
    "Léa fait un signe d'adieu. Le renard repart en courant vers les bois.",
    "Seul sur la colline, le renard regarde la lune.",
    "Le soir, Léa raconte le renard à sa grand-mère.",
)
VOICE = "fr-FR-Denise"
MUSIC_STYLE = "playful"
SILENCE_S = 120.0


def audio_requests(storyboard: StoryboardRequested, voice: str = VOICE) -> list[NarrationRequested | MusicRequested]:
    """A narration per scene, then music as long as the narrations are (10 s at least)."""
    narrations = [
        NarrationRequested(
            request_id=f"{storyboard.request_id}-narr-{i + 1:02d}",
            job_id=f"{storyboard.job_id}-narr-{scene.scene_id}",
            project_id=storyboard.project_id,
            text=NARRATION[i % len(NARRATION)],
            voice=voice,
        )
        for i, scene in enumerate(storyboard.scenes)
    ]
    from media_stream.domain.audio_work import estimate_narration

    length = max(10.0, round(sum(estimate_narration(n) for n in narrations)))
    music = MusicRequested(
        request_id=f"{storyboard.request_id}-music",
        job_id=f"{storyboard.job_id}-music",
        project_id=storyboard.project_id,
        duration_seconds=min(length, 120.0),
        style=MUSIC_STYLE,
    )
    return [*narrations, music]


def narrate_and_score(settings: Settings, bootstrap: str, storyboard: StoryboardRequested, audio_worker, console: Console) -> int:  # noqa: ANN001 - a Popen
    """Publish the narrations and the music, print each AudioReady; 0 when all arrived."""
    routes = AgentRoutes.from_topics(TopicResolver.load(settings.topics_file), medium="audio")
    subscriber = OutcomeSubscriber(settings, [routes.audio_ready, routes.job_failed], bootstrap)
    try:
        requests = audio_requests(storyboard)
        publisher = RequestPublisher(settings, bootstrap)
        for request in requests:
            publisher.publish(request)
        publisher.close()
        console.print(f"Published {len(requests) - 1} NarrationRequested ({VOICE}) and a MusicRequested ({MUSIC_STYLE}, {requests[-1].duration_seconds:g} s)")
        return _follow_audio(subscriber, {r.job_id: r for r in requests}, audio_worker, console)
    finally:
        subscriber.close()


def _follow_audio(subscriber: OutcomeSubscriber, waiting: dict, audio_worker, console: Console) -> int:  # noqa: ANN001
    started, ok = time.monotonic(), True
    pending = dict(waiting)
    for _topic, event in subscriber.events(timeout_s=SILENCE_S):
        if getattr(event, "job_id", None) not in pending:
            if audio_worker.poll() is not None:
                console.print(f"[red]the audio worker exited with code {audio_worker.returncode}; see its log[/red]")
                return 1
            continue
        request = pending.pop(event.job_id)
        if isinstance(event, AudioReady):
            what = f"voice={request.voice}" if isinstance(request, NarrationRequested) else f"style={request.style}"
            label = event.job_id.rsplit("-narr-", 1)[-1] if event.kind == "narration" else "score"
            extra = f"  notApplied={','.join(event.not_applied)}" if event.not_applied else ""
            console.print(
                f"  AudioReady  {event.kind:9} {label:9} {event.duration_seconds:6.2f} s  {what}  "
                f"{event.url.removeprefix('file://')}  ({event.model}){extra}",
                highlight=False,
            )
            for parameter, note in event.parameter_notes.items():  # why, or how it was approximated
                console.print(f"      {parameter}: {note}", highlight=False)
        elif isinstance(event, JobFailed):
            console.print(f"[red]JobFailed:[/red] {event.job_id}: {event.reason}")
            ok = False
        if not pending:
            console.print(f"Audio: {len(waiting)} files in {time.monotonic() - started:.1f}s")
            return 0 if ok else 1
    console.print(f"[red]no AudioReady for {', '.join(pending)} within {SILENCE_S:g} s of silence[/red]")
    return 1
