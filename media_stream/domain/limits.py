"""Limits that are part of the contract (design brief §6)."""

MAX_IMAGE_SIDE = 2048
IMAGE_SIDE_MULTIPLE = 8
MIN_IMAGE_SIDE = 64
STEPS_RANGE = (1, 150)
GUIDANCE_RANGE = (0.0, 30.0)
MAX_PROMPT_CHARS = 2000
MAX_SCENES = 200
MAX_CHARACTERS_PER_SCENE = 8
MAX_DESCRIPTION_CHARS = 1000
MAX_NARRATION_CHARS = 20_000
SPEED_RANGE = (0.5, 2.0)
PITCH_RANGE = (0.5, 2.0)
MUSIC_DURATION_RANGE = (1.0, 300.0)
TEMPO_RANGE = (40, 220)
INTENSITY_RANGE = (0.0, 1.0)
# Seeds are read back and sent again by clients in every language: within 2^53 - 1, the largest
# integer JavaScript's JSON.parse (and avsc's long without a BigInt type) holds exactly.
MAX_SEED = 2**53 - 1
CONTROL_SCALE_RANGE = (0.0, 2.0)
# Inputs read from our own storage (reference and control images, voice clips).
MAX_INPUT_IMAGE_BYTES = 20 * 1024 * 1024
MAX_INPUT_IMAGE_PIXELS = 4096 * 4096
MAX_INPUT_AUDIO_BYTES = 20 * 1024 * 1024
