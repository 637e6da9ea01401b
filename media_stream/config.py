"""The one typed configuration object.

Every setting comes from the environment (prefix ``MEDIA_STREAM_``, nested with ``__``) or
from defaults that run the main job on a laptop. Secrets are ``SecretStr`` and are read only
from the environment.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_home() -> Path:
    return Path.home() / ".media-stream"


class KafkaSettings(BaseModel):
    """How agents and clients reach Kafka."""

    bootstrap_servers: str | None = Field(
        default=None,
        description="host:port list; unset means the local dev broker (media-stream dev up).",
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] | None = Field(
        default=None, description="Required with SASL_SSL / SASL_PLAINTEXT; SCRAM-SHA-512 in production."
    )
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: str | None = Field(default=None, description="PEM file of the CA that signed the brokers' certificates.")
    ssl_certificate_location: str | None = Field(default=None, description="PEM client certificate (mutual TLS).")
    ssl_key_location: str | None = Field(default=None, description="PEM private key of the client certificate.")
    ssl_key_password: SecretStr | None = Field(default=None, description="Password of an encrypted ssl_key_location.")
    ssl_endpoint_identification_algorithm: Literal["https", "none"] = Field(
        default="https", description="https: the broker's certificate must name the host dialled (keep it)."
    )
    schema_registry_url: str | None = Field(
        default=None,
        description="Confluent Schema Registry URL; unset means Avro single-object encoding.",
    )
    schema_registry_basic_auth: SecretStr | None = None
    client_id: str = "media-stream"


class LocalKafkaSettings(BaseModel):
    """The single-node KRaft broker that `media-stream dev up` runs on loopback."""

    kafka_version: str = "4.4.0"
    home: Path = Field(default_factory=lambda: _default_home() / "kafka")
    port: int = 0  # 0: pick a free port once and remember it in the state file
    start_timeout_s: float = 120.0
    heap: str = "512m"


class StorageSettings(BaseModel):
    """Where rendered media go. Env: ``MEDIA_STREAM_STORAGE__BACKEND``, ``__ENDPOINT``, ``__ACCESS_KEY`` etc.

    ``minio`` is any S3-compatible server (MinIO, AWS S3, s3proxy); its keys come only from
    the environment.
    """

    backend: Literal["filesystem", "minio"] = "filesystem"
    root: Path = Field(default_factory=lambda: _default_home() / "storage")
    endpoint: str | None = Field(default=None, description="host:port (or http(s)://host:port) of the S3 API.")
    bucket: str = "media-stream"
    access_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    secure: bool = False
    region: str | None = Field(default=None, description="Bucket region; unset: asked from the server once.")
    create_bucket: bool = Field(default=True, description="Create the bucket when it is missing.")
    public_base_url: str | None = Field(
        default=None, description="Objects are served under this URL (public bucket or CDN); unset: presigned URLs."
    )
    presign_ttl_s: int = Field(default=3600, ge=1, le=7 * 24 * 3600, description="Lifetime of a presigned URL.")
    part_size_bytes: int = Field(
        default=16 * 1024 * 1024, ge=5 * 1024 * 1024, le=5 * 1024**3, description="Multipart part size for large objects."
    )
    max_object_bytes: int = Field(default=2 * 1024**3, ge=1, description="Largest object put() accepts.")
    retries: int = Field(default=4, ge=0, le=20, description="Retries after the first try on 5xx, timeouts, refused connections.")
    retry_backoff_s: float = Field(default=0.25, ge=0.0, le=60.0, description="First backoff; doubles each retry.")
    retry_backoff_max_s: float = Field(default=8.0, ge=0.0, le=300.0)
    connect_timeout_s: float = Field(default=5.0, gt=0.0, le=300.0)
    read_timeout_s: float = Field(default=60.0, gt=0.0, le=3600.0)


class SdxlSettings(BaseModel):
    """The SDXL image backend (``worker.image_backend = "sdxl"``), after the original GPU_CONFIG.

    Every model is a hub id (resolved in the Hugging Face cache; with ``HF_HUB_OFFLINE=1`` only
    the cache is read) or a local folder. A model that cannot be found is a ConfigurationError
    at ``load()`` naming it. Env: ``MEDIA_STREAM_WORKER__SDXL__MODEL`` and so on.
    """

    model: str = Field(
        default="stabilityai/stable-diffusion-xl-base-1.0",
        description="SDXL base: hub id or local diffusers folder.",
    )
    variant: str | None = Field(
        default="auto",
        description="Weight files of the base and the ControlNet: 'auto' loads the 'fp16' variant files on CUDA and "
        "the full files on CPU, each falling back to the other (the log says which loaded); 'fp16' (or another "
        "variant) first, then the full files; None: the full files only.",
    )
    cache_dir: Path | None = Field(default=None, description="Hugging Face cache; unset: HF_HOME's.")
    scheduler: Literal["dpm_multistep", "dpm_multistep_karras", "euler", "euler_ancestral", "ddim", "model"] = Field(
        default="dpm_multistep",
        description="Sampler: DPMSolverMultistep as in the original; 'model' keeps the folder's own.",
    )
    dtype: Literal["auto", "float16", "bfloat16", "float32"] = Field(
        default="auto", description="'auto': float16 on CUDA, float32 on CPU."
    )
    device: str = Field(default="auto", description="'auto': cuda when available, else cpu; or 'cuda:1', 'cpu'.")
    memory_fraction: float = Field(
        default=0.9, gt=0.0, le=1.0, description="Share of the GPU's memory this process may allocate."
    )
    attention_slicing: bool = Field(default=False, description="Slice attention (less memory, slower).")
    vae_tiling: bool = Field(default=False, description="Decode the VAE in tiles (large images, less memory).")
    torch_compile: bool = Field(default=False, description="torch.compile the UNet (slow first render).")
    oom_recovery_calls: int = Field(
        default=50,
        ge=1,
        description="After an out-of-memory, this many successful renders in a row turn low-memory mode off, "
        "then double the lowered batch cap (one step each time).",
    )
    max_prompt_chunks: int = Field(
        default=4,
        ge=1,
        le=16,
        description="CLIP reads 77 tokens; longer prompts are encoded in windows of 75 tokens, up to this many "
        "(4: 300 tokens). The rest is not encoded, and the outcome says so (ImageReady.promptOmitted).",
    )
    controlnet_model: str | None = Field(
        default="diffusers/controlnet-canny-sdxl-1.0",
        description=(
            "Canny ControlNet for scenes with a control image; empty/None disables it. The original "
            "'lllyasviel/sd-controlnet-canny' is an SD 1.5 ControlNet and does not fit SDXL: use an "
            "SDXL canny ControlNet such as 'diffusers/controlnet-canny-sdxl-1.0'."
        ),
    )
    controlnet_conditioning_scale: float = Field(default=0.5, ge=0.0, le=2.0)
    canny_low_threshold: int = Field(default=100, ge=0, le=255)
    canny_high_threshold: int = Field(default=200, ge=0, le=255)
    ip_adapter_model: str | None = Field(
        default="h94/IP-Adapter", description="IP-Adapter repo or folder for character consistency; empty/None disables it."
    )
    ip_adapter_subfolder: str = Field(default="sdxl_models", description="Folder of the weights inside it.")
    ip_adapter_weight_name: str = "ip-adapter_sdxl.safetensors"
    ip_adapter_image_encoder_folder: str = Field(
        default="image_encoder", description="CLIP image encoder, relative to the subfolder."
    )
    ip_adapter_scale: float = Field(default=0.6, ge=0.0, le=2.0, description="Weight of a character reference.")
    consistency_model: str | None = Field(
        default="facebook/dinov2-small",
        description=(
            "Image encoder (transformers: DINOv2, or CLIP vision) scoring each character on its region against its "
            "reference; read from a folder or the local cache only, never downloaded: scoring is on whenever its weights "
            "are present (a hub id not in the cache logs a warning and scores nothing); empty/None: off."
        ),
    )
    consistency_threshold: float = Field(
        default=0.8, ge=-1.0, le=1.0,
        description="Cosine at or above which a character passes. UNCALIBRATED until labelled storyboards exist: "
        "`media-stream bench calibrate-consistency LABELS.jsonl` picks it from labelled pairs.",
    )
    # --- keeping the GPU busy (issue 16) -------------------------------------------------------
    vae_model: str | None = Field(
        default=None,
        description="A separate VAE folder or hub id, e.g. 'madebyollin/sdxl-vae-fp16-fix': with force_upcast false in its "
        "config the decode stays in half precision (the base VAE upcasts to float32); None: the base model's VAE.",
    )
    fuse_qkv: bool = Field(
        default=False,
        description="Fuse the attention Q/K/V projections. Applied only when no IP-Adapter is loaded (fusing replaces the "
        "IP-Adapter attention processors); with one, logged and left off.",
    )
    batch_buckets: list[int] = Field(
        default_factory=lambda: [1, 2, 4, 8],
        description="With torch_compile, every pipeline call is padded up to the next of these batch sizes (results of the "
        "padding are dropped), so a new batch size never recompiles mid-run.",
    )
    pad_to_buckets: bool | None = Field(default=None, description="Pad calls to batch_buckets; None: only with torch_compile.")
    compile_warmup: bool = Field(
        default=True, description="With torch_compile, render each bucket once at load so compilation happens at startup."
    )
    fast_lora: str | None = Field(
        default=None,
        description="Fast profile: a step-distilled SDXL LoRA (e.g. 'ByteDance/SDXL-Lightning' with fast_lora_weight_name "
        "'sdxl_lightning_4step_lora.safetensors', or 'latent-consistency/lcm-lora-sdxl'), loaded like any LoRA; every "
        "scene then renders in fast_steps steps at fast_guidance, and the outcome's model names the LoRA. None: off.",
    )
    fast_lora_weight_name: str | None = None
    fast_steps: int = Field(default=4, ge=1, le=50, description="Steps of the fast profile.")
    fast_guidance: float = Field(default=0.0, ge=0.0, le=20.0, description="Guidance of the fast profile (distilled: none).")
    fast_scheduler: Literal["euler_trailing", "lcm"] = Field(
        default="euler_trailing", description="Sampler of the fast profile: Euler with trailing timesteps (Lightning) or LCM."
    )
    finish_on_worker: bool = Field(
        default=True,
        description="PNG encoding, consistency scoring and storing run on a worker beside the render thread, so the next "
        "batch renders while the last is encoded.",
    )

    def enabled(self, value: str | None) -> bool:
        return bool(value and value.strip() and value.strip().lower() not in ("none", "off", "false"))


class WorkerSettings(BaseModel):
    group_id: str = "media-stream-image-agents"
    max_batch_size: int = Field(default=4, ge=1, le=64)
    poll_timeout_s: float = 0.2
    # Requests taken into work and not finished; beyond it the agent pauses its partitions.
    in_flight_window: int = Field(default=64, ge=1, le=10_000)
    max_poll_records: int = Field(default=500, ge=1, le=10_000)
    # Kafka's limit between polls; the agent polls every turn, renders run on their own thread.
    max_poll_interval_ms: int = Field(default=300_000, ge=1_000)
    session_timeout_ms: int = Field(default=45_000, ge=1_000)
    # An agent that dies mid-transaction blocks read_committed readers of that partition for this long.
    transaction_timeout_ms: int = Field(default=10_000, ge=1_000)
    # Transactional producers committing side by side, each for its own input partitions (one per
    # owned partition up to this many): each transaction waits for its shard's previous markers
    # only (docs/decisions/0007-sharded-commits.md). 1 (one producer, adaptive batching) measured
    # best with the broker on the agents' 2 cores: 4 shards multiplied the transactions the broker
    # writes (burst 681 -> 143 requests/s, docs/benchmarks.md). Raise it where the brokers have
    # room to spare and the commit round trip, not the broker, bounds latency.
    commit_shards: int = Field(default=1, ge=1, le=64)
    shutdown_timeout_s: float = 120.0
    dedupe_window_s: float = Field(
        default=24 * 3600.0,
        ge=600.0,
        description="How long a handled requestId is remembered: the same request again within it renders nothing. "
        "Older rows are dropped with a tombstone, so the dedupe table's memory is bounded by the requests of one window.",
    )
    # A renderer batch (one step of each of its jobs) still running after this fails those steps
    # (RenderDeadlineExceeded) and a fresh render thread takes over; None: no deadline.
    # Raise it for SDXL on a CPU.
    render_deadline_s: float | None = Field(default=900.0, gt=0)
    image_backend: Literal["preview", "sdxl", "hold"] = "preview"
    # The "hold" stand-in renderer (scale-out tests and `bench scale`): each batch holds this long, no GPU.
    hold_s: float = Field(default=0.1, ge=0.0, le=600.0)
    sdxl: SdxlSettings = Field(default_factory=SdxlSettings)


class AudioSettings(BaseModel):
    """Narration and music backends (issue 5). Env: ``MEDIA_STREAM_AUDIO__SPEECH_BACKEND`` etc.

    The embedded defaults (``espeak``, ``procedural``) need no weights; ``coqui`` and
    ``musicgen`` read models from local folders or the caches (offline with HF_HUB_OFFLINE=1),
    and a missing model is a ConfigurationError at ``load()`` naming it.
    """

    speech_backend: Literal["espeak", "coqui"] = "espeak"
    music_backend: Literal["procedural", "musicgen"] = "procedural"
    coqui_model: str = Field(
        default="tts_models/fr/css10/vits",
        description="Default Coqui model: a model name (looked up in the TTS cache, TTS_HOME) or a folder with config.json + checkpoint.",
    )
    coqui_models: dict[str, str] = Field(
        default_factory=dict,
        description="Overrides per voice id or language ('en-US-Jenny', 'en-US', 'en') -> model name or folder.",
    )
    xtts_model: str | None = Field(
        default=None, description="XTTS-v2 folder (or cached model name) for voice cloning from a reference clip; None: off."
    )
    musicgen_model: str = Field(
        default="facebook/musicgen-medium",
        description="MusicGen: hub id (HF cache) or local transformers folder; medium (1.5 B) as the card configures, small (300 M) for smaller GPUs.",
    )
    musicgen_window_s: float = Field(default=30.0, gt=0.5, le=30.0, description="Longest single generation.")
    musicgen_overlap_s: float = Field(default=5.0, ge=0.1, description="Context carried into the next window.")
    musicgen_crossfade_s: float = Field(default=1.0, ge=0.0, description="Crossfade where windows join.")
    device: str = Field(default="auto", description="'auto': cuda when available, else cpu.")
    dtype: Literal["auto", "float16", "bfloat16", "float32"] = Field(
        default="auto", description="'auto': float16 on CUDA, float32 on CPU."
    )
    narration_lufs: float = Field(default=-16.0, ge=-40.0, le=-5.0, description="Integrated loudness target (BS.1770).")
    music_lufs: float = Field(default=-14.0, ge=-40.0, le=-5.0)
    true_peak_dbtp: float = Field(default=-1.0, ge=-12.0, le=0.0, description="Limiter ceiling.")
    output_format: Literal["wav", "mp3", "flac", "ogg"] = "mp3"
    max_chunk_chars: int = Field(default=250, ge=40, le=2000, description="Longest text chunk synthesized in one call.")
    max_batch_size: int = Field(default=4, ge=1, le=64)


class GatewayToken(BaseModel):
    """One bearer token the HTTP gateway accepts (issue 7). Tokens come only from configuration."""

    name: str = Field(description="Who holds it; logged instead of the token.")
    token: SecretStr
    kind: Literal["user", "service"] = "user"
    scopes: list[str] = Field(
        default_factory=list,
        description="e.g. images:write, images:read, audio:write, audio:read, jobs:read, models:read, assets:read, assets:rate, quality:read, projects:delete; '*' grants every scope.",
    )


class GatewaySettings(BaseModel):
    """The HTTP gateway (``media-stream gateway``). Env: ``MEDIA_STREAM_GATEWAY__PORT``, and the
    tokens as JSON, e.g. ``MEDIA_STREAM_GATEWAY__TOKENS='[{"name":"ci","token":"...","kind":"service","scopes":["*"]}]'``."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    tokens: list[GatewayToken] = Field(default_factory=list, description="Accepted bearer tokens; none: every authenticated route answers 401.")
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="Larger request bodies answer 413.")
    idempotency_capacity: int = Field(default=10_000, ge=1, description="Idempotency keys remembered (in memory, per replica).")
    idempotency_ttl_s: float = Field(default=24 * 3600.0, gt=0, description="How long an Idempotency-Key is remembered.")
    sse_idle_timeout_s: float = Field(default=300.0, gt=0, description="An event stream ends after this long with nothing new.")
    status_view_path: Path | None = Field(default=None, description="SQLite file of the job-status view; unset: beside the local broker's home.")
    sse_lookback_s: float = Field(
        default=3600.0, gt=0, description="Events of a job this replica did not publish are looked for this far back."
    )


class ObservabilitySettings(BaseModel):
    """Metrics, health, logs and traces of an agent. Env: ``MEDIA_STREAM_OBSERVABILITY__PORT`` etc.

    Every agent (and ``catalog run``) serves ``GET /metrics`` (Prometheus), ``GET /healthz/live`` and
    ``GET /healthz/ready`` on ``host:port``; port 0 turns the server off.
    """

    port: int = Field(
        default=9400,
        ge=0,
        le=65535,
        description="HTTP port of /metrics and /healthz/*; 0: no server. Unset: a port per process kind "
        "(image agent 9400, audio agent 9401, catalog processor 9402), so they share a host.",
    )
    host: str = "0.0.0.0"
    log_format: Literal["json", "text"] = Field(default="json", description="json: one object per line (ts, level, logger, msg, jobId...).")
    otlp_endpoint: str | None = Field(
        default=None, description="OTLP/gRPC collector for spans (needs opentelemetry-sdk and the OTLP exporter); unset: no export."
    )
    service_name: str = "media-stream-agent"
    live_within_s: float = Field(default=60.0, gt=0.0, description="Live while the agent loop turned within this many seconds.")
    storage_check_interval_s: float = Field(default=10.0, ge=0.0, description="Readiness re-checks the object store at most this often.")
    sample_interval_s: float = Field(default=1.0, gt=0.0, description="Lag, queue depth and in-flight gauges are refreshed this often.")
    max_project_labels: int = Field(
        default=20, ge=1, le=1000, description="Queue depth is labelled for the N deepest projects; the rest sum into project='_other'."
    )

    def port_for(self, kind: str) -> int:
        """The port of ``kind`` (image, audio, catalog): ``port`` when it was set, else the kind's own."""
        if "port" in self.model_fields_set:
            return self.port
        return DEFAULT_PORTS.get(kind, self.port)


DEFAULT_PORTS = {"image": 9400, "audio": 9401, "catalog": 9402}


class CatalogSettings(BaseModel):
    """The asset catalog and quality feedback: ``media-stream catalog run``, ``assets``, ``rate``,
    ``quality``, ``forget-project`` (docs/decisions/0005)."""

    group_id: str = "media-stream-catalog"
    poll_timeout_s: float = Field(default=0.5, gt=0.0, le=30.0)
    max_batch: int = Field(default=500, ge=1, le=10_000, description="Outcomes folded per transaction at most.")
    rater_hash_key: SecretStr | None = Field(
        default=None,
        description="Secret of the keyed hash (HMAC-SHA256) stored instead of rater ids; rating refuses to run without it.",
    )
    view_path: Path | None = Field(default=None, description="SQLite file of the catalog view; unset: beside the local broker's home.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MEDIA_STREAM_", env_nested_delimiter="__", extra="ignore"
    )

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    local_kafka: LocalKafkaSettings = Field(default_factory=LocalKafkaSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    audio: AudioSettings = Field(default_factory=AudioSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    catalog: CatalogSettings = Field(default_factory=CatalogSettings)
    topics_file: Path = PROJECT_ROOT / "topics.yaml"
    # A profile of topics.yaml ("local" for a single-node broker); None = the file's defaults.
    topics_profile: str | None = None
    schemas_dir: Path = PROJECT_ROOT / "schemas"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def agent_group_id(settings: Settings, medium: str) -> str:
    """The consumer group the agents of ``medium`` join (the deploy manifests name the same one)."""
    return settings.worker.group_id if medium == "image" else f"media-stream-{medium}-agents"
