"""Random-weight audio models with the real architectures, saved as model folders: used by
`media-stream bench audio` (full size) and by the tests (tiny, via tests/tiny_models/).
Imports torch, TTS and transformers when called."""

from __future__ import annotations

import string
from pathlib import Path


FRENCH_LETTERS = "àâäçéèêëîïôöùûüÿœæÀÂÇÉÈÊËÎÏÔÙÛÜŸŒÆ"


def build_vits_folder(folder: Path, *, full_size: bool = False, seed: int = 0, speakers: tuple[str, ...] = (), phonemes: str | None = None) -> Path:
    """``phonemes``: a phoneme language ("fr-fr") to read IPA through Coqui's eSpeak phonemizer
    as the released VITS models do (``use_phonemes=True``, their IPA symbol set); None: raw
    characters (no espeak-ng program needed)."""
    import torch
    from TTS.tts.configs.shared_configs import CharactersConfig
    from TTS.tts.utils.text.characters import _phonemes as ipa_symbols
    from TTS.tts.configs.vits_config import VitsConfig
    from TTS.tts.models.vits import Vits, VitsArgs

    folder.mkdir(parents=True, exist_ok=True)
    if full_size:
        args = VitsArgs(init_discriminator=False)
    else:
        args = VitsArgs(
            hidden_channels=16, hidden_channels_ffn_text_encoder=32, num_heads_text_encoder=2,
            num_layers_text_encoder=2, kernel_size_text_encoder=3, dropout_p_text_encoder=0.0,
            num_layers_posterior_encoder=2, num_layers_flow=2, speaker_embedding_channels=16,
            resblock_type_decoder="2", resblock_kernel_sizes_decoder=[3], resblock_dilation_sizes_decoder=[[1, 3]],
            upsample_rates_decoder=[8, 8, 4], upsample_initial_channel_decoder=32, upsample_kernel_sizes_decoder=[16, 16, 8],
            spec_segment_size=8, init_discriminator=False,
        )
    if speakers:
        args.use_speaker_embedding = True
    characters = CharactersConfig(
        characters_class="TTS.tts.models.vits.VitsCharacters",
        pad="_", eos="", bos="", blank=None,
        characters=string.ascii_letters + FRENCH_LETTERS,
        punctuations=" !'(),-.:;?«»\"’…",
        phonemes=ipa_symbols if phonemes else None, is_unique=True, is_sorted=True,
    )
    config = VitsConfig(
        model_args=args, characters=characters, use_phonemes=bool(phonemes), text_cleaner="multilingual_cleaners",
        add_blank=True, test_sentences=[],
    )
    if phonemes:
        config.phonemizer, config.phoneme_language = "espeak", phonemes
    config.audio.sample_rate = 22050
    if speakers:  # a multi-speaker model reads its speaker ids at init (like VCTK's)
        import json

        (folder / "speaker_ids.json").write_text(json.dumps({name: i for i, name in enumerate(speakers)}))
        config.model_args.speakers_file = str(folder / "speaker_ids.json")
    torch.manual_seed(seed)
    model = Vits.init_from_config(config)
    torch.save({"model": model.state_dict()}, folder / "model_file.pth")
    config.save_json(str(folder / "config.json"))
    return folder


WORDS = (
    "calm ambient music soft pads peaceful epic orchestral dramatic tension upbeat happy cheerful melody "
    "melancholic piano emotional strings adventurous theme brass and drums mysterious low celesta gentle "
    "lullaby box playful pizzicato light percussion whimsical suspenseful pulsing synth ticking bpm very "
    "sparse dynamics relaxed steady full arrangement intense powerful energetic loud"
).split()


def build_tokenizer(folder: Path):
    """A T5 (unigram) tokenizer over ``WORDS``, digits and letters, saved into ``folder``."""
    from transformers import T5TokenizerFast

    pieces = ["<pad>", "</s>", "<unk>"] + [f"▁{w}" for w in WORDS] + [f"▁{d}" for d in "0123456789"] + list("0123456789,abcdefghijklmnopqrstuvwxyz")
    vocab = [(p, 0.0 if i < 3 else -float(i)) for i, p in enumerate(pieces)]
    tokenizer = T5TokenizerFast(vocab=vocab, extra_ids=0)
    tokenizer.save_pretrained(folder)
    return tokenizer


# MusicGen decoder sizes (audiocraft's released checkpoints): hidden, layers, heads
MUSICGEN_DECODERS = {"small": (1024, 24, 16), "medium": (1536, 48, 24), "large": (2048, 48, 32)}


def build_musicgen_folder(folder: Path, *, full_size: bool = False, seed: int = 0, size: str = "small") -> Path:
    """``full_size``: the released architecture of ``size`` (small, medium, large) with random
    weights; else a tiny one (tests)."""
    import torch
    from transformers import (
        EncodecConfig,
        EncodecFeatureExtractor,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        MusicgenProcessor,
        T5Config,
    )

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(folder)
    vocab = max(len(tokenizer), 64)
    if full_size:
        text = T5Config(vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12)
        audio = EncodecConfig(
            sampling_rate=32000, audio_channels=1, num_filters=64, hidden_size=128, codebook_size=2048,
            upsampling_ratios=[8, 5, 4, 4], target_bandwidths=[2.2], normalize=False, use_causal_conv=False,
            num_lstm_layers=2, compress=2, residual_kernel_size=3, kernel_size=7, last_kernel_size=7,
        )
        hidden, layers, heads = MUSICGEN_DECODERS[size]
        decoder = MusicgenDecoderConfig(
            vocab_size=2048, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, ffn_dim=4 * hidden,
            num_codebooks=4, max_position_embeddings=2048, pad_token_id=2048, bos_token_id=2048,
        )
    else:
        text = T5Config(vocab_size=vocab, d_model=32, d_kv=8, d_ff=64, num_layers=1, num_heads=4)
        audio = EncodecConfig(
            sampling_rate=32000, audio_channels=1, num_filters=4, hidden_size=16, codebook_size=2048, codebook_dim=16,
            upsampling_ratios=[8, 5, 4, 4], target_bandwidths=[2.2], normalize=False, use_causal_conv=False,
            num_lstm_layers=1, num_residual_layers=1,
        )
        decoder = MusicgenDecoderConfig(
            vocab_size=2048, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, ffn_dim=64,
            num_codebooks=4, max_position_embeddings=2048, pad_token_id=2048, bos_token_id=2048,
        )
    config = MusicgenConfig(text_encoder=text.to_dict(), audio_encoder=audio.to_dict(), decoder=decoder.to_dict())
    torch.manual_seed(seed)
    model = MusicgenForConditionalGeneration(config)
    generator = torch.Generator().manual_seed(seed)
    for layer in model.audio_encoder.quantizer.layers:
        codebook = layer.codebook
        codebook.embed.copy_(torch.randn(codebook.embed.shape, generator=generator))
        if hasattr(codebook, "embed_avg"):
            codebook.embed_avg.copy_(codebook.embed)
        if hasattr(codebook, "cluster_size"):
            codebook.cluster_size.fill_(1.0)
        if hasattr(codebook, "inited"):
            codebook.inited.fill_(True)
    gen = model.generation_config
    gen.decoder_start_token_id = decoder.bos_token_id
    gen.pad_token_id = decoder.pad_token_id
    gen.do_sample = True
    gen.guidance_scale = 3.0
    gen.max_length = 1500
    model.save_pretrained(folder)
    MusicgenProcessor(feature_extractor=EncodecFeatureExtractor(feature_size=1, sampling_rate=32000), tokenizer=tokenizer).save_pretrained(folder)
    return folder


XTTS_SPECIAL = ("[STOP]", "[UNK]", "[SPACE]", "[START]", "[fr]", "[en]", "[de]", "[es]")


def build_xtts_folder(folder: Path, *, seed: int = 0, speakers: tuple[str, ...] = (), max_audio_tokens: int = 10) -> Path:
    """A tiny XTTS v2 folder laid out like the released one (``config.json`` with
    ``model: xtts``, ``model.pth`` holding ``{"model": state_dict}``, a BPE ``vocab.json`` and,
    for ``speakers``, a ``speakers_xtts.pth`` of studio-speaker latents): a 1-layer 32-wide GPT,
    XTTS's own HiFi-GAN decoder and speaker encoder, random seeded weights. Random weights rarely
    emit the stop token, so ``max_audio_tokens`` (x 1024 samples at 22.05 kHz) bounds each chunk."""
    import torch
    from tokenizers import Tokenizer
    from tokenizers.models import BPE
    from tokenizers.pre_tokenizers import Whitespace
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.models.xtts import Xtts, XttsArgs

    folder.mkdir(parents=True, exist_ok=True)
    symbols = sorted(set(string.ascii_lowercase + string.digits + FRENCH_LETTERS.lower() + " !'(),-.:;?\"’…"))
    vocab = {token: i for i, token in enumerate([*XTTS_SPECIAL, *symbols])}
    tokenizer = Tokenizer(BPE(vocab=vocab, merges=[], unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    tokenizer.add_special_tokens(list(XTTS_SPECIAL))
    tokenizer.save(str(folder / "vocab.json"))
    args = XttsArgs(
        gpt_layers=1, gpt_n_model_channels=32, gpt_n_heads=2, gpt_max_audio_tokens=max_audio_tokens,
        gpt_max_text_tokens=402, gpt_max_prompt_tokens=70, gpt_num_audio_tokens=1026, gpt_start_audio_token=1024,
        gpt_stop_audio_token=1025, decoder_input_dim=32, d_vector_dim=512, gpt_use_perceiver_resampler=True,
        tokenizer_file=str(folder / "vocab.json"),
    )
    config = XttsConfig(model_args=args, languages=["fr", "en", "de", "es"])
    torch.manual_seed(seed)
    model = Xtts.init_from_config(config)
    model.tokenizer = __import__("TTS.tts.layers.xtts.tokenizer", fromlist=["VoiceBpeTokenizer"]).VoiceBpeTokenizer(folder / "vocab.json")
    model.init_models()
    torch.save({"model": model.state_dict()}, folder / "model.pth")
    if speakers:
        generator = torch.Generator().manual_seed(seed + 1)
        latents = {
            name: {
                "gpt_cond_latent": torch.randn(1, 32, args.gpt_n_model_channels, generator=generator),
                "speaker_embedding": torch.nn.functional.normalize(torch.randn(1, args.d_vector_dim, 1, generator=generator), dim=1),
            }
            for name in speakers
        }
        torch.save(latents, folder / "speakers_xtts.pth")
    config.model_args.tokenizer_file = ""
    config.save_json(str(folder / "config.json"))
    return folder
