"""Prompts past CLIP's 77 tokens: chunked prompt embeddings for both SDXL text encoders.

A scene prompt + its character clause + the style suffix easily passes the 77 tokens (75 plus
start and end) CLIP reads; diffusers' pipeline truncates the tail, which holds the characters
and the style. Here a prompt is split into chunks of 75 tokens, each encoded as its own
``<start> chunk <end> <pad>...`` window by both text encoders (penultimate hidden states, as
diffusers does), and the windows are concatenated along the sequence: the UNet's cross-attention
(and the ControlNet's, and the IP-Adapter's) reads any number of text tokens. The pooled
embedding is the first window's, which is exactly what diffusers computes for the truncated
prompt. The negative prompt gets the same number of windows (empty ones pad the shorter).

A prompt that fits one window is left to the pipeline (its own encoding: bitwise the direct
call). Past ``max_chunks`` windows the rest is dropped, and said: ``EncodedPrompts.omitted``.
The same scene always gets the same windows, alone or in a batch: a batch groups scenes by
their window count (``window_count``) and each prompt is encoded on its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

import torch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncodedPrompts:
    """Keyword arguments for the SDXL pipeline call, and what each prompt lost (None: nothing)."""

    kwargs: dict[str, Any]
    omitted: list[str | None]


def _tokenizers(pipe: Any) -> list[Any]:
    return [t for t in (pipe.tokenizer, pipe.tokenizer_2) if t is not None]


def _body(tokenizer: Any) -> int:
    return tokenizer.model_max_length - 2


def _token_ids(tokenizer: Any, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False, truncation=False, verbose=False).input_ids


def window_count(pipe: Any, text: str, max_chunks: int) -> int:
    """How many 75-token windows ``text`` needs (at least 1, at most ``max_chunks``)."""
    needed = max(-(-len(_token_ids(t, text)) // _body(t)) for t in _tokenizers(pipe))
    return min(max(1, needed), max_chunks)


def omitted_text(pipe: Any, text: str, max_chunks: int) -> str | None:
    """The end of ``text`` beyond ``max_chunks`` windows (decoded from the first tokenizer)."""
    tokenizer = _tokenizers(pipe)[0]
    ids = _token_ids(tokenizer, text)
    keep = max_chunks * _body(tokenizer)
    if len(ids) <= keep:
        return None
    return tokenizer.decode(ids[keep:], skip_special_tokens=True).strip() or None


def _windows(tokenizer: Any, text: str, count: int) -> torch.Tensor:
    body = _body(tokenizer)
    ids = _token_ids(tokenizer, text)[: count * body]
    rows = []
    for start in range(0, count * body, body):
        chunk = ids[start : start + body]
        row = [tokenizer.bos_token_id, *chunk, tokenizer.eos_token_id]
        rows.append(row + [tokenizer.pad_token_id] * (tokenizer.model_max_length - len(row)))
    return torch.tensor(rows, dtype=torch.long)


def _encode(pipe: Any, text: str, count: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(1, 77 x count, width) prompt embeddings and (1, projection) pooled, like encode_prompt."""
    per_encoder, pooled = [], None
    encoders = [e for e in (pipe.text_encoder, pipe.text_encoder_2) if e is not None]
    for tokenizer, encoder in zip(_tokenizers(pipe), encoders):
        windows = _windows(tokenizer, text, count).to(device)
        hidden = []
        for row in windows:  # one window at a time: the same numbers alone or in a batch
            out = encoder(row[None], output_hidden_states=True)
            if pooled is None and out[0].ndim == 2:
                pooled = out[0]  # CLIPTextModelWithProjection's text_embeds, first window
            hidden.append(out.hidden_states[-2])
        per_encoder.append(torch.cat(hidden, dim=1))
    assert pooled is not None, "SDXL's second text encoder gives the pooled embedding"
    return torch.cat(per_encoder, dim=-1), pooled


def encode_long_prompts(
    pipe: Any, prompts: Sequence[str], negatives: Sequence[str], device: torch.device, max_chunks: int
) -> EncodedPrompts:
    """Embeddings for a batch whose prompts need more than one window (all the same count)."""
    count = max(max(window_count(pipe, p, max_chunks), window_count(pipe, n, max_chunks)) for p, n in zip(prompts, negatives))
    embeds, pooled, neg_embeds, neg_pooled, omitted = [], [], [], [], []
    dtype = pipe.text_encoder_2.dtype
    with torch.inference_mode():
        for prompt, negative in zip(prompts, negatives):
            e, p = _encode(pipe, prompt, count, device)
            ne, np_ = _encode(pipe, negative, count, device)
            embeds.append(e), pooled.append(p), neg_embeds.append(ne), neg_pooled.append(np_)
            omitted.append(omitted_text(pipe, prompt, max_chunks))
            if omitted_text(pipe, negative, max_chunks):
                log.warning("negative prompt past %d CLIP windows: its end is not encoded", max_chunks)
    kwargs = {
        "prompt_embeds": torch.cat(embeds).to(dtype),
        "pooled_prompt_embeds": torch.cat(pooled).to(dtype),
        "negative_prompt_embeds": torch.cat(neg_embeds).to(dtype),
        "negative_pooled_prompt_embeds": torch.cat(neg_pooled).to(dtype),
    }
    return EncodedPrompts(kwargs, omitted)
