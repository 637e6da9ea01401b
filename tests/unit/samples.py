"""One realistic value per record of schemas/media/v1, as the dicts EventCodec takes.

Timestamps are aware UTC datetimes at millisecond precision, so a round trip gives them back
equal. Optional fields are set where that exercises more of the encoding.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

T0 = dt.datetime(2025, 3, 14, 9, 26, 53, 589000, tzinfo=dt.timezone.utc)
T1 = T0 + dt.timedelta(seconds=12, milliseconds=345)

FOX = {
    "characterId": "lea-fox",
    "name": "Léa",
    "description": "a red fox with a blue scarf",
    "referenceImage": "characters/proj-7f3a/lea-fox/ref.png",
}
OWL = {"characterId": "owl", "name": "Hibou", "description": "", "referenceImage": None}

SCENE_1 = {"sceneId": "s1", "prompt": "Léa wakes up in the forest at dawn", "characters": [FOX], "controlImage": None, "controlScale": None}
SCENE_2 = {"sceneId": "s2", "prompt": "Léa meets the owl by the river 🦉", "characters": [FOX, OWL], "controlImage": "uploads/proj-7f3a/river-edges.png", "controlScale": 0.5}
SCENE_3 = {"sceneId": "s3", "prompt": "An empty clearing at night", "characters": [], "controlImage": None, "controlScale": None}

STYLE = {
    "style": "watercolor",
    "negativePrompt": "blurry, text",
    "width": 768,
    "height": 512,
    "steps": 25,
    "guidance": 6.5,
    "seed": 42,
}

IMAGE_SUMMARY = {
    "sceneId": "s1",
    "url": "http://localhost:9000/media-stream/image/proj-7f3a/job-1/s1/1.png",
    "storageKey": "image/proj-7f3a/job-1/s1/1.png",
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
}
SCENE_FAILURE = {"sceneId": "s3", "reason": "renderer ran out of memory"}
HEADER = {"key": "traceparent", "value": b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}

SAMPLES: dict[str, dict[str, Any]] = {
    "ImageRequested": {
        "requestId": "req-0001",
        "jobId": "job-1",
        "projectId": "proj-7f3a",
        "createdAt": T0,
        "renderVersion": 2,
        "prompt": "A lighthouse on a cliff, stormy sea",
        "negativePrompt": "people",
        "style": "oil",
        "width": 1024,
        "height": 768,
        "steps": 40,
        "guidance": 8.0,
        "seed": 1234567890123,
        "sceneId": "cover",
        "controlImage": "uploads/proj-7f3a/cover-sketch.png",
        "controlScale": 0.7,
    },
    "StoryboardRequested": {
        "requestId": "req-0002",
        "jobId": "job-2",
        "projectId": "proj-7f3a",
        "createdAt": T0,
        "renderVersion": 1,
        "scenes": [SCENE_1, SCENE_2, SCENE_3],
        "styleConfig": STYLE,
        "consistencyMode": True,
    },
    "NarrationRequested": {
        "requestId": "req-0003",
        "jobId": "job-3",
        "projectId": "proj-7f3a",
        "createdAt": T0,
        "renderVersion": 1,
        "text": "Il était une fois, dans une forêt lointaine, une petite renarde nommée Léa.",
        "voice": "fr-FR-Denise",
        "speed": 0.9,
        "pitch": 1.1,
        "emotion": "warm",
        "referenceAudio": None,
    },
    "MusicRequested": {
        "requestId": "req-0004",
        "jobId": "job-4",
        "projectId": "proj-7f3a",
        "createdAt": T0,
        "renderVersion": 1,
        "durationSeconds": 45.5,
        "style": "ambient",
        "tempo": 72,
        "intensity": 0.3,
    },
    "CancelRequested": {
        "requestId": "cancel-0001",
        "jobId": "job-2",
        "projectId": "proj-7f3a",
        "reason": "user changed the story",
        "createdAt": T1,
    },
    "ImageReady": {
        "jobId": "job-1",
        "projectId": "proj-7f3a",
        "requestId": "req-0001",
        "renderVersion": 2,
        "sceneId": "cover",
        "sceneIndex": 0,
        "url": "http://localhost:9000/media-stream/image/proj-7f3a/job-1/cover/2.png",
        "storageKey": "image/proj-7f3a/job-1/cover/2.png",
        "width": 1024,
        "height": 768,
        "seed": 1234567890123,
        "prompt": "A lighthouse on a cliff, stormy sea, oil painting",
        "negativePrompt": "people, blurry",
        "model": "preview",
        "renderMs": 1834,
        "sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
        "createdAt": T1,
        "consistencyScore": 0.87,
    },
    "BatchCompleted": {
        "jobId": "job-2",
        "projectId": "proj-7f3a",
        "requestId": "req-0002",
        "renderVersion": 1,
        "totalImages": 2,
        "images": [IMAGE_SUMMARY, {**IMAGE_SUMMARY, "sceneId": "s2", "storageKey": "image/proj-7f3a/job-2/s2/1.png"}],
        "failures": [SCENE_FAILURE],
        "completedAt": T1,
    },
    "AudioReady": {
        "jobId": "job-3",
        "projectId": "proj-7f3a",
        "requestId": "req-0003",
        "renderVersion": 1,
        "kind": "narration",
        "url": "http://localhost:9000/media-stream/narration/proj-7f3a/job-3/narration/1.wav",
        "storageKey": "narration/proj-7f3a/job-3/narration/1.wav",
        "durationSeconds": 6.25,
        "sampleRate": 22050,
        "format": "wav",
        "model": "espeak",
        "sha256": "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9",
        "createdAt": T1,
        "notApplied": ["emotion"],
        "loudnessLufs": -16.0,
    },
    "CharacterIdentity": {
        "projectId": "proj-7f3a",
        "characterId": "lea-fox",
        "name": "Léa",
        "description": "a red fox with a blue scarf",
        "seed": 8179651743705847675,
        "referenceKey": "characters/proj-7f3a/lea-fox/reference/1.png",
        "source": "rendered",
        "createdAt": T0,
    },
    "RequestHandled": {
        "requestId": "req-0002",
        "jobId": "job-2",
        "projectId": "proj-7f3a",
        "outcome": "completed",
        "renderVersion": 2,
        "handledAt": T1,
    },
    "JobProgress": {
        "jobId": "job-2",
        "projectId": "proj-7f3a",
        "requestId": "req-0002",
        "renderVersion": 1,
        "doneSteps": 2,
        "images": [IMAGE_SUMMARY],
        "failures": [SCENE_FAILURE],
        "updatedAt": T1,
    },
    "JobStatusChanged": {
        "jobId": "job-2",
        "projectId": "proj-7f3a",
        "requestId": "req-0002",
        "status": "processing",
        "progress": 0.5,
        "error": None,
        "renderVersion": 1,
        "updatedAt": T1,
    },
    "JobFailed": {
        "jobId": "job-5",
        "projectId": "proj-7f3a",
        "requestId": None,
        "renderVersion": 1,
        "reason": "width: must be a multiple of 8 (allowed: 8..2048, multiples of 8)",
        "errorClass": "ValidationError",
        "retryable": False,
        "failedAt": T1,
    },
    "DeadLetter": {
        "sourceTopic": "media.image.requested.v1",
        "sourcePartition": 3,
        "sourceOffset": 9876543210,
        "key": b"proj-7f3a",
        "value": b"\xc3\x01garbage",
        "headers": [HEADER, {"key": "content-type", "value": None}],
        "errorClass": "UndecodableMessage",
        "errorMessage": "body does not decode as media.v1.ImageRequested",
        "jobId": None,
        "projectId": "proj-7f3a",
        "failedAt": T1,
    },
    "Character": FOX,
    "Scene": SCENE_2,
    "StyleConfig": STYLE,
    "ImageSummary": IMAGE_SUMMARY,
    "SceneFailure": SCENE_FAILURE,
    "Header": HEADER,
}
