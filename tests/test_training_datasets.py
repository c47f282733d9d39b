"""The SyncNet and U-Net training datasets on a tiny processed set cut from the shared demo clips."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from torch.utils.data import DistributedSampler
from torchvision.transforms.functional import InterpolationMode, resize

from latentsync.data import DistributedResumableSampler, MelCache, SyncNetDataset, UNetDataset, read_video_list
from latentsync.data.loader import data_loader
from latentsync.data.unet_dataset import draw_windows
from latentsync.data.whisper_windows import whisper_windows
from latentsync.errors import InputError
from latentsync.io.audio_reader import load_audio
from latentsync.io.video_reader import VideoReader
from latentsync.utils.syncnet_mel import mel_window, melspectrogram
from latentsync.whisper.audio2feature import Audio2Feature
from tests.helpers.paths import shared_path
from tests.helpers.training_data import make_processed_dataset, write_fileslist

RESOLUTION = 64


@pytest.fixture(scope="module")
def clips():
    return [str(path) for path in make_processed_dataset(num_clips=2, resolution=RESOLUTION)]


def _syncnet_dataset(clips, tmp_path, resolution=RESOLUTION, **kwargs):
    return SyncNetDataset(clips, num_frames=16, resolution=resolution, audio_mel_cache_dir=str(tmp_path / "mel"),
                          **kwargs)


def _unet_dataset(clips, tmp_path, **kwargs):
    return UNetDataset(clips, num_frames=16, resolution=RESOLUTION, audio_mel_cache_dir=str(tmp_path / "mel"),
                       use_mel=True, **kwargs)


def test_syncnet_sample(clips, tmp_path):
    dataset = _syncnet_dataset(clips, tmp_path, seed=3)
    labels = []
    for index in range(len(dataset)):
        for epoch in range(4):
            dataset.set_epoch(epoch)
            sample = dataset[index]
            assert sample["frames"].shape == (16, 3, RESOLUTION, RESOLUTION)
            assert sample["frames"].dtype == torch.float32
            assert -1 <= sample["frames"].min() and sample["frames"].max() <= 1
            assert sample["audio_samples"].shape == (1, 80, 52)
            assert sample["y"].shape == (1,)
            labels.append(sample["y"].item())
    assert set(labels) == {0.0, 1.0}


def test_syncnet_sample_content(clips, tmp_path):
    """In-sync samples hold the frames and mel of one start; off-sync ones frames of another start."""
    dataset = _syncnet_dataset(clips, tmp_path, seed=0)
    path = clips[0]
    frames = np.stack(list(VideoReader(path).frames()))
    mel = melspectrogram(load_audio(path))
    found = set()
    for epoch in range(8):
        dataset.set_epoch(epoch)
        sample = dataset[0]
        starts = [s for s in range(len(frames) - 15)
                  if np.array_equal(mel_window(mel, s, 16).astype(np.float32), sample["audio_samples"].numpy())]
        assert starts, "the mel window is not a window of the clip's mel"
        expected = torch.from_numpy(frames[starts[0] : starts[0] + 16]).permute(0, 3, 1, 2) / 255.0 * 2 - 1
        same = torch.allclose(sample["frames"], expected, atol=1e-6)
        assert same == bool(sample["y"].item())
        found.add(same)
    assert found == {True, False}


def test_unet_sample(clips, tmp_path):
    dataset = _unet_dataset(clips, tmp_path, seed=1)
    path = clips[0]
    frames = torch.from_numpy(np.stack(list(VideoReader(path).frames()))).permute(0, 3, 1, 2) / 255.0 * 2 - 1
    for epoch in range(4):
        dataset.set_epoch(epoch)
        sample = dataset[0]
        start = sample["start_idx"]
        assert sample["video_path"] == path
        assert 0 <= start <= len(frames) - 16
        torch.testing.assert_close(sample["gt_pixel_values"], frames[start : start + 16], atol=1e-6, rtol=0)
        masks = sample["masks"]
        assert masks.shape == (16, 1, RESOLUTION, RESOLUTION) and 0 <= masks.min() and masks.max() <= 1
        assert masks[:, :, : RESOLUTION // 3].min() > 0.99  # eyes and nose kept
        assert masks[:, :, 40:50, 24:40].max() < 0.01  # mouth and chin inpainted (Lanczos-resized edges)
        torch.testing.assert_close(sample["masked_pixel_values"], sample["gt_pixel_values"] * masks)
        ref_starts = [s for s in range(len(frames) - 15)
                      if torch.allclose(frames[s : s + 16], sample["ref_pixel_values"], atol=1e-6)]
        assert ref_starts and all(abs(s - start) >= 16 for s in ref_starts)
        assert sample["mel"].shape == (1, 80, 52)


def test_no_mel_without_the_sync_loss(clips, tmp_path):
    dataset = UNetDataset(clips, num_frames=16, resolution=RESOLUTION, audio_mel_cache_dir=str(tmp_path), use_mel=False)
    assert "mel" not in dataset[0]
    assert not list(tmp_path.iterdir())  # the mel is not even computed


def test_deterministic_for_seed_epoch_and_workers(clips, tmp_path):
    dataset = _syncnet_dataset(clips, tmp_path, seed=7)

    def epoch_batches(num_workers: int, epoch: int):
        sampler = DistributedResumableSampler(dataset, num_replicas=1, rank=0, seed=7)
        sampler.set_epoch(epoch)
        dataset.set_epoch(epoch)
        loader = data_loader(dataset, batch_size=1, sampler=sampler, num_workers=num_workers)
        return [batch["frames"] for batch in loader]

    in_process = epoch_batches(0, epoch=0)
    with_workers = epoch_batches(2, epoch=0)
    assert all(torch.equal(a, b) for a, b in zip(in_process, with_workers, strict=True))
    other_epoch = epoch_batches(0, epoch=1)
    assert not all(torch.equal(a, b) for a, b in zip(in_process, other_epoch))


def test_validation_samples_draw_their_clips_from_the_whole_list(tmp_path, monkeypatch):
    clips = [str(tmp_path / f"clip{index}.mp4") for index in range(50)]  # never decoded: load_sample is replaced
    for clip in clips:
        open(clip, "wb").close()
    config = OmegaConf.create({"val_fileslist": write_fileslist(clips, tmp_path / "val.txt"), "val_data_dir": "",
                               "num_frames": 16, "resolution": RESOLUTION, "video_fps": 25,
                               "audio_mel_cache_dir": str(tmp_path / "mel"), "audio_sample_rate": 16000})
    dataset = SyncNetDataset.from_config(config, split="val", seed=3)
    monkeypatch.setattr(dataset, "load_sample", lambda path, rng: clips.index(path))

    def drawn(epoch: int) -> list[int]:
        dataset.set_epoch(epoch)
        return [dataset[index] for index in range(10)]

    first = drawn(0)
    assert max(first) >= 10  # the first 10 samples are not the first 10 clips: any clip of the list
    assert drawn(0) == first and drawn(1) != first  # seeded; another epoch (--fresh_val_samples) draws other clips
    many = [clip for epoch in range(20) for clip in drawn(epoch)]
    assert len(set(many)) > 40  # 200 uniform draws with replacement reach nearly every clip


def test_sampler_pads_an_epoch_as_the_originals_distributed_sampler():
    data = list(range(11))  # 11 clips on 3 processes: 12 places, one clip twice (the original's sampler pads)
    shares = [list(DistributedResumableSampler(data, num_replicas=3, rank=rank, seed=5)) for rank in range(3)]
    assert shares == [list(DistributedSampler(data, num_replicas=3, rank=rank, seed=5)) for rank in range(3)]
    assert [len(share) for share in shares] == [4, 4, 4] and set(sum(shares, [])) == set(data)


def test_sampler_shards_and_resumes():
    data = list(range(10))
    full = [list(DistributedResumableSampler(data, num_replicas=2, rank=rank, seed=5)) for rank in (0, 1)]
    assert sorted(full[0] + full[1]) == data
    sampler = DistributedResumableSampler(data, num_replicas=2, rank=1, seed=5)
    sampler.set_position(epoch=0, consumed=2)
    assert list(sampler) == full[1][2:] and len(sampler) == 3
    restored = DistributedResumableSampler(data, num_replicas=2, rank=1, seed=5)
    restored.load_state_dict(sampler.state_dict())
    assert list(restored) == full[1][2:]
    restored.set_epoch(1)
    assert len(list(restored)) == 5


def test_short_and_broken_clips_are_skipped_then_fail(clips, tmp_path, caplog):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    dataset = UNetDataset([clips[0], str(broken)], num_frames=16, resolution=RESOLUTION,
                          audio_mel_cache_dir=str(tmp_path / "mel"), use_mel=True, list_name="list.txt")
    with caplog.at_level(logging.WARNING, logger="latentsync.data"):
        sample = dataset[1]
    assert sample["video_path"] == clips[0]
    assert "broken.mp4" in caplog.text and "cannot be decoded" in caplog.text

    too_short = UNetDataset(clips, num_frames=24, resolution=RESOLUTION, audio_mel_cache_dir=str(tmp_path / "mel"),
                            use_mel=False, max_retries=3, list_name="list.txt")  # 60 frames < 3 x 24
    with pytest.raises(InputError, match=r"4 clips in a row from list.txt .*shorter than the 72"):
        too_short[0]


def test_file_list_errors(clips, tmp_path):
    with pytest.raises(InputError, match="missing.txt does not exist"):
        read_video_list(str(tmp_path / "missing.txt"))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    with pytest.raises(InputError, match="empty.txt lists no videos"):
        read_video_list(str(empty))
    bad_line = write_fileslist([clips[0], tmp_path / "gone.mp4"], tmp_path / "list.txt")
    with pytest.raises(InputError, match=r"list.txt:2: .*gone.mp4 does not exist"):
        read_video_list(str(bad_line))
    assert read_video_list(str(write_fileslist(clips, tmp_path / "ok.txt"))) == clips
    (tmp_path / "no_videos").mkdir()
    with pytest.raises(InputError, match="train_data_dir .*no_videos holds no videos"):
        read_video_list(None, str(tmp_path / "no_videos"))
    with pytest.raises(InputError, match="neither data.val_fileslist nor data.val_data_dir"):
        read_video_list("", "", role="val")


def test_unet_windows_reach_both_ends_of_the_clip_and_never_overlap():
    """As the original: the target anywhere in [0, total - F], the reference anywhere it does not overlap it."""
    rng = np.random.default_rng(0)
    starts, refs = zip(*(draw_windows(rng, 60, 16) for _ in range(3000)))
    assert min(starts) == 0 and max(starts) == 44 and min(refs) == 0 and max(refs) == 44
    assert all(abs(start - ref) >= 16 for start, ref in zip(starts, refs))


def test_clips_at_another_resolution_are_resized_and_upsampling_warns_once(clips, tmp_path, caplog):
    frames = torch.from_numpy(np.stack(list(VideoReader(clips[0]).frames()))).permute(0, 3, 1, 2)
    with caplog.at_level(logging.WARNING, logger="latentsync.data"):
        smaller = _syncnet_dataset(clips, tmp_path, resolution=32)
    assert "upsampled" not in caplog.text
    sample = smaller[0]
    assert sample["frames"].shape == (16, 3, 32, 32)
    expected = resize(frames, [32, 32], interpolation=InterpolationMode.BICUBIC, antialias=True) / 255.0 * 2 - 1
    assert any(torch.allclose(sample["frames"], expected[s : s + 16], atol=1e-5) for s in range(len(frames) - 15))
    with caplog.at_level(logging.WARNING, logger="latentsync.data"):
        larger = UNetDataset(clips, num_frames=16, resolution=128, audio_mel_cache_dir=str(tmp_path / "mel"),
                             use_mel=False)
        sample = larger[0]
    assert caplog.text.count("upsampled") == 1
    assert sample["gt_pixel_values"].shape == sample["ref_pixel_values"].shape == (16, 3, 128, 128)


def test_mel_cache_rebuilds_a_corrupt_entry(clips, tmp_path):
    cache = MelCache(tmp_path)
    mel = cache.mel(clips[0])
    entry = cache.path_for(clips[0])
    assert entry.is_file() and np.array_equal(np.load(entry), mel)
    entry.write_bytes(b"garbage")
    np.testing.assert_array_equal(cache.mel(clips[0]), mel)
    assert np.array_equal(np.load(entry), mel)


def test_whisper_windows_match_inference_chunks(clips, tmp_path):
    encoder = Audio2Feature(shared_path("parity", "audio", "whisper_tiny_fake.pt"), cache_dir=tmp_path / "embeds")
    windows = whisper_windows(encoder, clips, torch.tensor([8, 20]))
    for row, (path, start) in enumerate(zip(clips, (8, 20))):
        chunks = encoder.feature2chunks(encoder.audio2feat(path))
        torch.testing.assert_close(windows[row], chunks[start : start + 16], rtol=0, atol=0)
    assert windows.shape[:2] == (2, 16)
    assert len(list((tmp_path / "embeds").iterdir())) == 2  # one cached feature per clip
