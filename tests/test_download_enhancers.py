"""`scripts.download_checkpoints --enhancers`: a restorer is installed only when its sha256 matches (hub mocked)."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from types import SimpleNamespace

import huggingface_hub
import pytest

from latentsync.cli import download_checkpoints
from latentsync.cli.download_checkpoints import ChecksumError, download_enhancer
from latentsync.face.enhancement import enhancer_spec

PAYLOAD = b"onnx model bytes"
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def hub(monkeypatch):
    """A fake hub serving ``PAYLOAD`` for every file and publishing ``published`` as its LFS sha256."""
    calls = SimpleNamespace(downloads=[], published=PAYLOAD_SHA256)

    def fake_download(repo_id, filename, revision, local_dir):
        calls.downloads.append((repo_id, filename, revision))
        path = Path(local_dir) / filename
        path.write_bytes(PAYLOAD)
        return str(path)

    def fake_paths_info(self, repo_id, paths, revision=None, expand=False):
        return [SimpleNamespace(path=paths[0], lfs=SimpleNamespace(sha256=calls.published))]

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    monkeypatch.setattr(huggingface_hub.HfApi, "get_paths_info", fake_paths_info)
    return calls


def test_file_matching_the_recorded_checksum_is_installed(tmp_path, hub, capsys):
    spec = dataclasses.replace(enhancer_spec("codeformer"), sha256=PAYLOAD_SHA256)
    download_enhancer(spec, tmp_path / "enhancers")
    assert (tmp_path / "enhancers" / "codeformer.onnx").read_bytes() == PAYLOAD
    assert hub.downloads == [(spec.repo, "codeformer.onnx", spec.revision)]
    assert list((tmp_path / "enhancers").iterdir()) == [tmp_path / "enhancers" / "codeformer.onnx"]
    assert "record it" not in capsys.readouterr().out


def test_file_with_another_checksum_is_not_installed(tmp_path, hub):
    spec = dataclasses.replace(enhancer_spec("gfpgan"), sha256="0" * 64)
    with pytest.raises(ChecksumError, match=f"has sha256 {PAYLOAD_SHA256}, expected 0{{64}}; the file was not"):
        download_enhancer(spec, tmp_path)
    assert list(tmp_path.iterdir()) == []  # no model, no partial folder


def test_without_a_recorded_checksum_the_hub_published_one_is_checked(tmp_path, hub, capsys):
    spec = dataclasses.replace(enhancer_spec("gpen"), sha256=None)
    download_enhancer(spec, tmp_path)
    assert f"sha256 {PAYLOAD_SHA256} matches the hub; record it as gpen.sha256" in capsys.readouterr().out
    (tmp_path / spec.filename).unlink()
    hub.published = "f" * 64
    with pytest.raises(ChecksumError):
        download_enhancer(spec, tmp_path)
    assert not (tmp_path / spec.filename).exists()


def test_present_file_is_not_fetched_again(tmp_path, hub):
    spec = enhancer_spec("gfpgan")
    spec.path(tmp_path).write_bytes(b"already here")
    assert download_checkpoints.download([download_checkpoints.enhancer_file(spec, tmp_path)]) == []
    assert hub.downloads == []


def test_enhancers_option_fetches_into_the_enhancers_folder(tmp_path, monkeypatch):
    fetched = []
    monkeypatch.setattr(download_checkpoints, "download_enhancer", lambda spec, folder: fetched.append((spec.method,
                                                                                                        folder)))
    monkeypatch.setattr(download_checkpoints, "planned_files", lambda *args: [])
    monkeypatch.setattr(download_checkpoints, "hub_unreachable_reason", lambda: None)
    assert download_checkpoints.main(["--enhancers", "gfpgan", "gpen", "--checkpoints_dir", str(tmp_path)]) == 0
    assert fetched == [("gfpgan", tmp_path / "enhancers"), ("gpen", tmp_path / "enhancers")]
