"""Storage keys and request inputs: refused before any byte moves; no network."""

import io
import struct
import zlib

import pytest
import urllib3
from minio.datatypes import Object
from minio.error import S3Error
from PIL import Image

from media_stream.config import Settings, StorageSettings
from media_stream.domain.errors import ConfigurationError, PermanentError, StorageUnavailable, ValidationError
from media_stream.storage.base import ObjectNotFound
from media_stream.storage.factory import object_store
from media_stream.storage.filesystem import FilesystemStore
from media_stream.storage.inputs import InputReader, decode_image
from media_stream.storage.keys import validate_key
from media_stream.storage.memory import MemoryStore
from media_stream.storage.minio_store import MinioStore, _decode_metadata, _encode_metadata

BAD_KEYS = [
    "", "../escape.png", "images/../../x", "images/..", "/abs/path", "images//x", "images/x/",
    "a\\b", "a/b\x00/c", "a/b\n", "a/.hidden", "http://evil.example/x.png", "s3://bucket/x",
    "file:///etc/passwd", "//evil.example/x", "C:/x", "x" * 1025,
]  # fmt: skip


@pytest.mark.parametrize("key", BAD_KEYS)
def test_unsafe_keys_are_refused_naming_the_field(key):
    with pytest.raises(ValidationError) as caught:
        validate_key(key, "scenes[0].controlImage")
    assert caught.value.field == "scenes[0].controlImage"


def test_safe_keys_pass():
    assert validate_key("images/p-1/j_2/s1/1.png") == "images/p-1/j_2/s1/1.png"


@pytest.mark.parametrize("key", BAD_KEYS)
def test_both_stores_refuse_unsafe_keys_before_any_io(tmp_path, key):
    fs = FilesystemStore(tmp_path / "root")
    s3 = MinioStore("127.0.0.1:9", "access", "secret-key", "bucket", retries=0)  # nothing listens there
    for store in (fs, s3):
        with pytest.raises(ValidationError):
            store.put(key, b"x", "image/png", {})
        with pytest.raises(ValidationError):
            store.get(key)
    assert not (tmp_path / "root").exists()


def test_metadata_survives_s3_header_rules():
    given = {"jobId": "j-1", "projectId": "p", "model": "sdxl base 1.0", "prompt": "Café 100% ☕"}
    headers = _encode_metadata(given)
    assert all(v.isascii() for v in headers.values())
    assert all(k.startswith("x-amz-meta-") for k in headers)
    answered = {k.title(): v for k, v in headers.items()}  # as the server answers: X-Amz-Meta-Jobid
    assert _decode_metadata({**answered, "Content-Type": "image/png"}) == given


@pytest.mark.parametrize("metadata", [{"bad name": "x"}, {"jobId": "a", "JOBID": "b"}, {"é": "x"}, {"a:b": "x"}])
def test_unusable_metadata_names_are_refused(metadata):
    with pytest.raises(ValidationError):
        _encode_metadata(metadata)


def test_factory_names_the_missing_minio_settings():
    with pytest.raises(ConfigurationError) as caught:
        object_store(StorageSettings(backend="minio", endpoint="127.0.0.1:9000"))
    assert "MEDIA_STREAM_STORAGE__ACCESS_KEY" in str(caught.value)
    assert "MEDIA_STREAM_STORAGE__SECRET_KEY" in str(caught.value)
    assert "ENDPOINT" not in str(caught.value)


def test_factory_builds_minio_from_the_environment(monkeypatch):
    monkeypatch.setenv("MEDIA_STREAM_STORAGE__BACKEND", "minio")
    monkeypatch.setenv("MEDIA_STREAM_STORAGE__ENDPOINT", "http://127.0.0.1:9000")
    monkeypatch.setenv("MEDIA_STREAM_STORAGE__ACCESS_KEY", "ak")
    monkeypatch.setenv("MEDIA_STREAM_STORAGE__SECRET_KEY", "sk-secret")
    monkeypatch.setenv("MEDIA_STREAM_STORAGE__PUBLIC_BASE_URL", "https://cdn.example/media/")
    settings = Settings().storage
    assert "sk-secret" not in repr(settings)
    store = object_store(settings)
    assert isinstance(store, MinioStore) and store.endpoint == "127.0.0.1:9000"
    assert store.url("images/p/j/s1/1.png") == "https://cdn.example/media/images/p/j/s1/1.png"


def png(width, height):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 10, 10)).save(buffer, "PNG")
    return buffer.getvalue()


def png_header_only(width, height):
    """A PNG whose header claims ``width`` x ``height`` with almost no pixel data."""

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


@pytest.fixture
def reader():
    store = MemoryStore()
    store.put("inputs/p/ref.png", png(64, 48), "image/png", {})
    store.put("inputs/p/big.png", png(200, 200), "image/png", {})
    store.put("inputs/p/bomb.png", png_header_only(5000, 5000), "image/png", {})
    store.put("inputs/p/voice.wav", b"RIFF" + b"\0" * 2000, "audio/wav", {})
    store.put("inputs/p/notes.txt", b"not an image", "text/plain", {})
    return InputReader(store, max_image_bytes=100_000, max_image_pixels=100 * 100, max_audio_bytes=1000)


def test_an_input_image_is_decoded_from_our_store(reader):
    image = reader.read_image("controlImage", "inputs/p/ref.png")
    assert image.size == (64, 48) and image.format == "PNG"
    assert Image.open(io.BytesIO(reader.read_image_bytes("controlImage", "inputs/p/ref.png"))).size == (64, 48)


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest", "https://example.com/a.png", "file:///etc/passwd"])
def test_an_input_url_is_refused_naming_the_field(reader, url):
    with pytest.raises(ValidationError, match="URL") as caught:
        reader.read_image("characters[0].referenceImage", url)
    assert caught.value.field == "characters[0].referenceImage"


def test_a_traversal_input_key_is_refused(reader):
    with pytest.raises(ValidationError) as caught:
        reader.read_audio("referenceAudio", "inputs/../../secrets")
    assert caught.value.field == "referenceAudio"


def test_a_missing_input_names_the_field(reader):
    with pytest.raises(ValidationError, match="no object") as caught:
        reader.read_image("controlImage", "inputs/p/nothing.png")
    assert caught.value.field == "controlImage"


def test_the_pixel_cap_is_checked_from_the_header(reader):
    with pytest.raises(ValidationError, match="200x200") as caught:
        reader.read_image("controlImage", "inputs/p/big.png")
    assert caught.value.field == "controlImage"
    with pytest.raises(ValidationError, match="5000x5000"):
        reader.read_image("controlImage", "inputs/p/bomb.png")


def test_pillows_own_bomb_guard_is_a_validation_error():
    with pytest.raises(ValidationError, match="decompression bomb"):
        decode_image("controlImage", png_header_only(100_000, 100_000), max_pixels=10**12)


def test_the_byte_cap_is_checked_before_the_object_is_fetched(reader):
    fetched = []
    original = reader.store.get
    reader.store.get = lambda key: fetched.append(key) or original(key)
    with pytest.raises(ValidationError, match="at most 1000 bytes") as caught:
        reader.read_audio("referenceAudio", "inputs/p/voice.wav")
    assert caught.value.field == "referenceAudio" and fetched == []


def test_something_that_is_not_an_image_is_refused(reader):
    with pytest.raises(ValidationError, match="not a readable image"):
        reader.read_image("controlImage", "inputs/p/notes.txt")
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, "GIF")
    with pytest.raises(ValidationError):
        decode_image("controlImage", gif.getvalue(), max_pixels=10_000)


def test_missing_objects_are_object_not_found_and_key_errors(tmp_path):
    for store in (MemoryStore(), FilesystemStore(tmp_path)):
        with pytest.raises(ObjectNotFound):
            store.get("images/p/none.png")
        with pytest.raises(KeyError):
            store.stat("images/p/none.png")


def s3_error(status, code):
    return S3Error(urllib3.HTTPResponse(status=status), code, "message", "/bucket/key", "req", "host")


def failing_store(errors):
    """A MinioStore whose every call fails with the next of ``errors`` (no network)."""
    store = MinioStore("127.0.0.1:9", "access", "secret-key", "bucket", retries=3, backoff_s=0.001)
    store._bucket_ready = True
    calls = []

    def stat_object(bucket, key):
        calls.append(key)
        raise errors[min(len(calls), len(errors)) - 1]

    store.client.stat_object = stat_object
    return store, calls


@pytest.mark.parametrize(
    "error",
    [s3_error(503, "SlowDown"), s3_error(500, "InternalError"), s3_error(429, "TooManyRequests")],
    ids=["503", "500", "429"],
)
def test_transient_s3_errors_are_retried_then_retriable(error):
    store, calls = failing_store([error])
    with pytest.raises(StorageUnavailable, match="gave up after 4 tries"):
        store.stat("images/p/j/s1/1.png")
    assert len(calls) == 4


def test_a_connection_error_is_retried_and_a_later_success_returns():
    answer = Object("bucket", "images/p/j/s1/1.png", size=3, content_type="image/png", metadata={"X-Amz-Meta-Sha256": "ab"})
    store, calls = failing_store([urllib3.exceptions.NewConnectionError(None, "refused"), urllib3.exceptions.ReadTimeoutError(None, "/", "slow")])
    original = store.client.stat_object

    def flaky(bucket, key):
        if len(calls) < 2:
            original(bucket, key)
        calls.append(key)
        return answer

    store.client.stat_object = flaky
    assert store.stat("images/p/j/s1/1.png").sha256 == "ab" and len(calls) == 3


@pytest.mark.parametrize(
    ("error", "kind"),
    [(s3_error(403, "AccessDenied"), ConfigurationError), (s3_error(403, "InvalidAccessKeyId"), ConfigurationError),
     (s3_error(400, "InvalidArgument"), PermanentError), (s3_error(404, "NoSuchKey"), ObjectNotFound)],
    ids=["access-denied", "bad-key-id", "bad-request", "no-such-key"],
)  # fmt: skip
def test_client_errors_are_not_retried(error, kind):
    store, calls = failing_store([error])
    with pytest.raises(kind):
        store.stat("images/p/j/s1/1.png")
    assert len(calls) == 1


def test_an_unreachable_s3_store_is_unavailable_quickly_for_put_and_probe():
    store = MinioStore("127.0.0.1:9", "access", "secret-key", "bucket", retries=1, backoff_s=0.001, connect_timeout_s=0.5)
    with pytest.raises(StorageUnavailable, match="gave up after 2 tries"):
        store.put("images/p/j/s1/1.png", b"x", "image/png", {})
    with pytest.raises(StorageUnavailable):
        store.check()


def test_an_unwritable_filesystem_store_is_unavailable(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    store = FilesystemStore(tmp_path / "file" / "root")
    with pytest.raises(StorageUnavailable):
        store.put("images/p/j/s1/1.png", b"x", "image/png", {})
    with pytest.raises(StorageUnavailable):
        store.check()
