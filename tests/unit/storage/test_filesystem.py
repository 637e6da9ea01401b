"""The filesystem store."""

import json

import pytest

from media_stream.domain.errors import ValidationError
from media_stream.storage.filesystem import FilesystemStore


def test_filesystem_store_writes_atomically_with_metadata(tmp_path):
    store = FilesystemStore(tmp_path)
    stored = store.put("images/p/j/s1/1.png", b"first", "image/png", {"jobId": "j"})
    again = store.put("images/p/j/s1/1.png", b"second", "image/png", {"jobId": "j"})
    assert stored.key == again.key and store.get(stored.key) == b"second"
    assert again.url.startswith("file://") and store.exists(stored.key)
    assert store.metadata(stored.key)["sha256"] == again.sha256
    leftovers = [p.name for p in (tmp_path / "images/p/j/s1").iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []
    assert json.loads((tmp_path / "images/p/j/s1/1.png.meta.json").read_text())["jobId"] == "j"


@pytest.mark.parametrize("key", ["../escape.png", "images/../../x", "/abs/path", "images//x", "a/b\x00/c"])
def test_filesystem_store_refuses_keys_that_leave_the_root(tmp_path, key):
    with pytest.raises(ValidationError):
        FilesystemStore(tmp_path / "root").put(key, b"x", "image/png", {})
    assert not (tmp_path / "escape.png").exists()
