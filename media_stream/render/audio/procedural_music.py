"""Embedded music default: a deterministic, seeded composer synthesised in numpy.

Not a generative model: a small arranger. Each style picks a mode, a chord progression,
a meter, timbres (additive synthesis: piano, pluck, bell, music box, strings, brass, pads) and
a drum pattern; the tempo sets the grid; the intensity sets density, drums, velocity and
brightness; the seed picks the key and writes the motifs (an A/B phrase form over the
progression). Same work, same samples. The mix is scaled so its peak stays under -1 dBFS:
it never clips.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from media_stream.domain.audio_work import MusicWork
from media_stream.render.audio.base import RenderedAudio

SAMPLE_RATE = 32_000
PEAK = 10 ** (-1.0 / 20)
MODES = {
    "major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10), "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10), "lydian": (0, 2, 4, 6, 7, 9, 11), "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
}


@dataclass(frozen=True)
class StyleProfile:
    mode: str
    progression: tuple[int, ...]  # scale degrees (0-based), one chord per ``bars_per_chord``
    root: int  # MIDI note of the tonic (before the seed's transposition)
    lead: str  # timbre of the melody
    pad: str | None  # timbre of the sustained chords
    arp: str | None  # timbre of an arpeggio in eighths (None: no arpeggio)
    bass: str  # "sustained" | "beats" | "pulse8" | "walking" | "staccato"
    drums: str | None  # pattern name in DRUMS
    drums_from: float  # intensity from which the drums play
    density: float  # melody notes per eighth-note slot at intensity 0.5
    beats_per_bar: int = 4
    bars_per_chord: int = 1


PROFILES: dict[str, StyleProfile] = {
    "ambient": StyleProfile("lydian", (0, 1, 5, 0), 57, "bell", "warm_pad", "bell", "sustained", "shaker", 0.6, 0.2, bars_per_chord=2),
    "dramatic": StyleProfile("harmonic_minor", (0, 5, 3, 4), 50, "brass", "strings", None, "beats", "taiko", 0.0, 0.45),
    "happy": StyleProfile("major", (0, 4, 5, 3), 60, "pluck", "warm_pad", None, "walking", "pop", 0.0, 0.6),
    "sad": StyleProfile("minor", (0, 5, 2, 6), 57, "piano", "strings", "piano", "sustained", "soft", 0.75, 0.3),
    "adventure": StyleProfile("mixolydian", (0, 6, 3, 0), 55, "brass", "strings", None, "beats", "march", 0.0, 0.5),
    "mysterious": StyleProfile("phrygian", (0, 1, 0, 6), 52, "musicbox", "dark_pad", "bell", "sustained", "tick", 0.3, 0.25),
    "lullaby": StyleProfile("major", (0, 3, 0, 4), 60, "musicbox", "warm_pad", "musicbox", "sustained", None, 1.1, 0.35, beats_per_bar=3),
    "playful": StyleProfile("major", (0, 5, 1, 4), 62, "pluck", None, None, "staccato", "woodblock", 0.0, 0.55),
    "suspense": StyleProfile("harmonic_minor", (0, 0, 5, 4), 50, "bell", "dark_pad", None, "pulse8", "suspense", 0.0, 0.2),
}
DEFAULT_PROFILE = PROFILES["ambient"]

# Drum patterns: instrument -> one bar in sixteenths ('x' hit, 'o' soft hit, '.' rest); 4/4.
DRUMS: dict[str, dict[str, str]] = {
    "pop": {"kick": "x.......x.o.....", "snare": "....x.......x...", "hat": "x.o.x.o.x.o.x.o."},
    "march": {"kick": "x...x...x...x...", "snare": "..o.x.o.o.o.x.oo"},
    "taiko": {"tom": "x.....o.x...o...", "kick": "x.......x......."},
    "suspense": {"hat": "xoooxoooxoooxooo", "kick": "x.......x......."},
    "shaker": {"shaker": "..o...o...o...o."},
    "soft": {"kick": "x.......o......."},
    "tick": {"tick": "x...o...x...o...", "tom": "x..............."},
    "woodblock": {"wood": "x..o..x.o.x..o..", "kick": "x.......x......."},
}


def _midi_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _env(n: int, attack_s: float, decay: float, release_s: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Attack ramp, exponential decay (per second), release ramp at the end."""
    t = np.arange(n) / sr
    env = np.exp(-decay * t)
    a = min(n, max(1, int(attack_s * sr)))
    env[:a] *= np.linspace(0.0, 1.0, a)
    r = min(n - a, int(release_s * sr))
    if r > 0:
        env[n - r:] *= np.linspace(1.0, 0.0, r)
    return env


def _partials(freq: float, t: np.ndarray, ratios: list[float], amps: list[float], decays: list[float]) -> np.ndarray:
    out = np.zeros_like(t)
    for ratio, amp, decay in zip(ratios, amps, decays):
        f = freq * ratio
        if f < SAMPLE_RATE / 2 * 0.9:
            out += amp * np.sin(2 * np.pi * f * t) * np.exp(-decay * t)
    return out


def _tone(timbre: str, freq: float, dur_s: float, brightness: float) -> np.ndarray:
    """One note (its tail included) for a timbre; brightness in 0..1 opens the harmonics."""
    tail = {"piano": 1.2, "pluck": 0.5, "bell": 2.0, "musicbox": 1.5}.get(timbre, 0.3)
    n = int((dur_s + tail) * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    harmonics = 4 + int(10 * brightness)
    if timbre == "piano":
        k = np.arange(1, harmonics + 1)
        return _partials(freq, t, list(k * (1 + 0.0004 * k**2)), list(1 / k**1.6), list(1.2 + 0.7 * k)) * _env(n, 0.004, 0.0, 0.05)
    if timbre == "pluck":
        k = np.arange(1, harmonics + 1)
        return _partials(freq, t, list(k), list(1 / k), list(4.0 + 3.0 * k)) * _env(n, 0.002, 0.0, 0.05)
    if timbre == "bell":
        return _partials(freq, t, [1, 2.0, 2.76, 5.4, 8.93], [1, 0.3, 0.5 * brightness + 0.1, 0.25 * brightness, 0.1], [1.2, 1.8, 2.5, 4, 6]) * _env(n, 0.003, 0.0, 0.1)
    if timbre == "musicbox":
        return _partials(freq, t, [1, 3.0, 4.16, 6.5], [1, 0.35, 0.2, 0.1 * brightness], [3.0, 5.0, 7.0, 9.0]) * _env(n, 0.001, 0.0, 0.1)
    # sustained timbres: band-limited saw/square-ish spectra, detuned pair (chorus), slow envelope
    gate = np.zeros(n)
    gate[: int(dur_s * SAMPLE_RATE)] = 1.0
    vib = 1 + 0.003 * np.sin(2 * np.pi * 5.0 * t)
    spectra = {
        "strings": ([k for k in range(1, harmonics + 1)], 1.0, 0.25),
        "brass": ([k for k in range(1, harmonics + 5)], 0.8, 0.04),
        "warm_pad": ([1, 2, 3, 4], 1.6, 0.6),
        "dark_pad": ([1, 2, 3], 2.0, 0.8),
    }
    ks, rolloff, attack = spectra.get(timbre, spectra["warm_pad"])
    out = np.zeros(n)
    phase = 2 * np.pi * np.cumsum(vib) / SAMPLE_RATE
    for k in ks:
        if freq * k > SAMPLE_RATE / 2 * 0.9:
            break
        for detune in (0.998, 1.002):
            out += (1 / k**rolloff) * np.sin(freq * k * detune * phase)
    a = int(min(attack, dur_s / 2) * SAMPLE_RATE)
    env = gate.copy()
    if a:
        env[:a] = np.linspace(0, 1, a)
    release = np.exp(-np.arange(n) / (0.25 * SAMPLE_RATE))
    end = int(dur_s * SAMPLE_RATE)
    env[end:] = release[: n - end] * (env[end - 1] if end else 0)
    return out * env * 0.5


def _drum(kind: str, rng: np.random.Generator) -> np.ndarray:
    n = int(0.5 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    if kind == "kick":
        freq = 45 + 80 * np.exp(-t * 30)
        return np.sin(2 * np.pi * np.cumsum(freq) / SAMPLE_RATE) * np.exp(-t * 9)
    if kind == "tom":
        freq = 70 + 40 * np.exp(-t * 12)
        return (np.sin(2 * np.pi * np.cumsum(freq) / SAMPLE_RATE) + 0.2 * rng.standard_normal(n) * np.exp(-t * 40)) * np.exp(-t * 5)
    noise = rng.standard_normal(n)
    if kind == "snare":
        return 0.6 * noise * np.exp(-t * 22) + 0.5 * np.sin(2 * np.pi * 185 * t) * np.exp(-t * 18)
    if kind in ("hat", "tick"):
        hp = np.diff(noise, prepend=0.0)
        return 0.35 * hp * np.exp(-t * (60 if kind == "hat" else 120))
    if kind == "shaker":
        return 0.25 * np.diff(noise, prepend=0.0) * np.exp(-((t - 0.03) ** 2) / 0.0004)
    if kind == "wood":
        return np.sin(2 * np.pi * 820 * t) * np.exp(-t * 45)
    raise ValueError(kind)


def _add(buffer: np.ndarray, start: int, sound: np.ndarray, gain: float) -> None:
    if start >= buffer.size:
        return
    end = min(buffer.size, start + sound.size)
    buffer[start:end] += gain * sound[: end - start]


class _Composer:
    def __init__(self, work: MusicWork) -> None:
        self.work = work
        self.p = PROFILES.get(work.style, DEFAULT_PROFILE)
        self.rng = np.random.default_rng(work.seed & 0xFFFFFFFFFFFFFFFF)
        self.scale = MODES[self.p.mode]
        self.root = self.p.root + int(self.rng.integers(-3, 4))  # the seed picks the key
        self.beat_s = 60.0 / work.tempo_bpm
        self.bar_s = self.beat_s * self.p.beats_per_bar
        self.n = int(round(work.duration_s * SAMPLE_RATE))
        self.bars = int(math.ceil(work.duration_s / self.bar_s)) + 1
        self.intensity = work.intensity
        self.brightness = 0.2 + 0.8 * work.intensity

    def degree(self, d: int) -> int:
        """Semitones above the tonic of scale degree ``d`` (any integer, octaves wrap)."""
        octave, step = divmod(d, len(self.scale))
        return 12 * octave + self.scale[step]

    def chord(self, bar: int) -> int:
        return self.p.progression[(bar // self.p.bars_per_chord) % len(self.p.progression)]

    def render(self) -> np.ndarray:
        tracks = {name: np.zeros(self.n + SAMPLE_RATE * 3) for name in ("pad", "bass", "lead", "arp", "drums")}
        for bar in range(self.bars):
            start = bar * self.bar_s
            self._pad(tracks["pad"], bar, start)
            self._bass(tracks["bass"], bar, start)
            if self.p.arp:
                self._arp(tracks["arp"], bar, start)
            if self.p.drums and self.intensity >= self.p.drums_from:
                self._drums(tracks["drums"], bar, start)
        self._melody(tracks["lead"])
        velocity = 0.55 + 0.45 * self.intensity
        mix = (0.22 * tracks["pad"] + 0.5 * tracks["bass"] + 0.35 * velocity * tracks["lead"]
               + 0.18 * tracks["arp"] + 0.45 * velocity * tracks["drums"])[: self.n]
        fade_out = min(int(1.5 * SAMPLE_RATE), self.n // 4)
        if fade_out:
            mix[-fade_out:] *= np.linspace(1.0, 0.0, fade_out) ** 1.5
        fade_in = min(int(0.02 * SAMPLE_RATE), self.n // 4)
        if fade_in:
            mix[:fade_in] *= np.linspace(0.0, 1.0, fade_in)
        peak = float(np.max(np.abs(mix))) if mix.size else 0.0
        if peak > 0:
            mix *= PEAK * 0.9 / peak
        return mix.astype(np.float32)

    def _at(self, seconds: float) -> int:
        return int(round(seconds * SAMPLE_RATE))

    def _pad(self, track: np.ndarray, bar: int, start: float) -> None:
        if self.p.pad is None or bar % self.p.bars_per_chord:
            return
        chord = self.chord(bar)
        dur = self.bar_s * self.p.bars_per_chord
        for voice in (0, 2, 4):
            note = self.root + self.degree(chord + voice)
            note = 55 + (note - 55) % 12  # voice-led into one octave above G3
            _add(track, self._at(start), _tone(self.p.pad, _midi_hz(note), dur, self.brightness * 0.6), 0.33)

    def _bass(self, track: np.ndarray, bar: int, start: float) -> None:
        chord = self.chord(bar)
        root = self.root - 24 + self.degree(chord)
        root = 36 + (root - 36) % 12
        fifth = root + (self.degree(chord + 4) - self.degree(chord))
        beats = self.p.beats_per_bar
        style = self.p.bass
        if style == "sustained":
            hits = [(0.0, root, beats * 0.95)]
        elif style == "beats":
            hits = [(float(b), root, 0.9) for b in range(beats)]
        elif style == "pulse8":
            hits = [(b / 2, root, 0.4) for b in range(beats * 2)]
        elif style == "walking":
            hits = [(0.0, root, 0.9), (1.0, root + 12, 0.45), (2.0, fifth, 0.9), (3.0, root + 12 if beats > 3 else root, 0.45)][:beats]
        else:  # staccato
            hits = [(0.0, root, 0.25), (beats / 2, fifth, 0.25)]
        for beat, note, length in hits:
            _add(track, self._at(start + beat * self.beat_s), _tone("pluck" if style != "sustained" else "piano", _midi_hz(note), length * self.beat_s, 0.3), 0.8)

    def _arp(self, track: np.ndarray, bar: int, start: float) -> None:
        chord = self.chord(bar)
        tones = [chord, chord + 2, chord + 4, chord + 7]
        for slot in range(self.p.beats_per_bar * 2):
            if self.intensity < 0.3 and slot % 2:
                continue
            d = tones[slot % len(tones)] if slot % 4 < 3 else tones[(slot + 1) % len(tones)]
            note = self.root + 12 + self.degree(d)
            _add(track, self._at(start + slot * self.beat_s / 2), _tone(self.p.arp, _midi_hz(note), self.beat_s / 2, self.brightness), 0.5)

    def _drums(self, track: np.ndarray, bar: int, start: float) -> None:
        pattern = DRUMS[self.p.drums]
        steps = self.p.beats_per_bar * 4
        for instrument, hits in pattern.items():
            for step in range(steps):
                mark = hits[step % len(hits)]
                if mark == "." or (mark == "o" and self.intensity < 0.35):
                    continue
                gain = (1.0 if mark == "x" else 0.5) * (0.9 + 0.2 * self.rng.random())
                _add(track, self._at(start + step * self.beat_s / 4), _drum(instrument, self.rng), gain)

    def _motif(self, bars: int) -> list[tuple[float, int, float]]:
        """(beat offset, scale-degree step from the chord root, length in beats) for ``bars`` bars."""
        density = min(0.95, self.p.density * (0.6 + 0.8 * self.intensity))
        slots = self.p.beats_per_bar * 2 * bars
        onsets = [s for s in range(slots) if s == 0 or self.rng.random() < density]
        notes, degree = [], int(self.rng.choice([0, 2, 4]))
        for i, slot in enumerate(onsets):
            nxt = onsets[i + 1] if i + 1 < len(onsets) else slots
            if slot % (self.p.beats_per_bar * 2) == 0:  # each bar starts on a chord tone
                degree = int(self.rng.choice([0, 2, 4, 7]))
            else:
                degree += int(self.rng.choice([-2, -1, -1, 1, 1, 2]))
                degree = max(-2, min(9, degree))
            notes.append((slot / 2, degree, (nxt - slot) / 2))
        return notes

    def _melody(self, track: np.ndarray) -> None:
        phrase = 4  # bars: a two-bar motif answered by its variation
        sections = [self._motif(2), self._motif(2)]  # A and B
        for first_bar in range(2 if self.bars > 4 else 0, self.bars, phrase):  # intro: pads only
            motif = sections[(first_bar // (phrase * 2)) % 2]
            for half in (0, 1):
                bar0 = first_bar + 2 * half
                for beat, step, length in motif:
                    bar = bar0 + int(beat // self.p.beats_per_bar)
                    if bar >= self.bars:
                        continue
                    if half and beat >= self.p.beats_per_bar * 1.5:  # the answer ends on the tonic
                        step = 0 if beat == motif[-1][0] else step - 1
                    note = self.root + 12 + self.degree(self.chord(bar) + step)
                    when = bar0 * self.bar_s + beat * self.beat_s
                    _add(track, self._at(when), _tone(self.p.lead, _midi_hz(note), length * self.beat_s * 0.95, self.brightness), 0.5)


class ProceduralMusicRenderer:
    """MusicRenderer without a model: ``model`` reads ``procedural-v1``."""

    name = "procedural"
    sample_rate = SAMPLE_RATE
    model = "procedural-v1"

    def load(self) -> None:
        """Nothing to load."""

    def compose(self, work: MusicWork) -> RenderedAudio:
        started = time.perf_counter()
        samples = _Composer(work).render()
        return RenderedAudio(
            sample_rate=SAMPLE_RATE,
            duration_s=round(samples.size / SAMPLE_RATE, 3),
            model=self.model,
            render_ms=int((time.perf_counter() - started) * 1000),
            samples=samples,
            seed=work.seed,
        )
