"""Bounded background workers and the background video encoder: order, errors, early exit, no stray threads."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from latentsync.io.background_writer import BackgroundVideoWriter
from latentsync.io.video_writer import VideoWriter
from latentsync.utils.background import BackgroundConsumer, Prefetcher
from tests.helpers.demo_clips import decode_rgb
from tests.helpers.synthetic_video import frame_for_index, index_of_frame


def worker_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name in ("prefetch", "consume", "video-encode")]


@pytest.fixture(autouse=True)
def no_thread_left_behind():
    yield
    assert worker_threads() == []


def test_prefetcher_yields_every_item_in_order():
    with Prefetcher(iter(range(100)), max_items=3) as items:
        assert list(items) == list(range(100))


def test_prefetcher_stays_within_its_bound():
    produced = []

    def source():
        for index in range(50):
            produced.append(index)
            yield index

    with Prefetcher(source(), max_items=2) as items:
        assert next(items) == 0
        time.sleep(0.3)
        # taken: 1, queued: 2, and the producer holds at most one more while it waits for room
        assert len(produced) <= 4


def test_prefetcher_raises_the_producer_error_in_the_consumer():
    def source():
        yield 1
        raise KeyError("broken frame")

    with Prefetcher(source()) as items:
        assert next(items) == 1
        with pytest.raises(KeyError, match="broken frame"):
            next(items)


def test_prefetcher_early_exit_closes_the_source_in_its_thread():
    closed = threading.Event()

    def source():
        try:
            for index in range(10_000):
                yield index
        finally:
            closed.set()

    with Prefetcher(source(), max_items=2) as items:
        for item in items:
            if item == 3:
                break
    assert closed.is_set()


def test_consumer_consumes_in_order_and_close_waits():
    seen = []

    def slow_append(item):
        time.sleep(0.001)
        seen.append(item)

    with BackgroundConsumer(slow_append, max_items=2) as consumer:
        for index in range(40):
            consumer.put(index)
    assert seen == list(range(40))


def test_consumer_error_reaches_the_producer():
    def fail_on_three(item):
        if item == 3:
            raise ValueError("bad item 3")

    consumer = BackgroundConsumer(fail_on_three, max_items=1)
    with pytest.raises(ValueError, match="bad item 3"):
        for index in range(100):
            consumer.put(index)
            time.sleep(0.01)
    consumer.discard()


def test_consumer_close_raises_a_late_error():
    def fail(item):
        raise OSError("disk full")

    consumer = BackgroundConsumer(fail, max_items=4)
    consumer.put(0)
    with pytest.raises(OSError, match="disk full"):
        consumer.close()


def test_consumer_abort_drops_queued_items():
    seen = []
    release = threading.Event()

    def wait_then_append(item):
        release.wait(5)
        seen.append(item)

    consumer = BackgroundConsumer(wait_then_append, max_items=3)
    for index in range(4):
        consumer.put(index)
    release.set()
    consumer.discard()
    assert len(seen) <= 1


def test_background_writer_matches_the_plain_writer(tmp_path):
    frames = [frame_for_index(index) for index in range(30)]
    with VideoWriter(tmp_path / "plain.mp4") as writer:
        for frame in frames:
            writer.write(frame)
    with BackgroundVideoWriter(tmp_path / "background.mp4", max_queued_frames=4) as writer:
        for frame in frames:
            writer.write(frame)
        assert writer.frames_written == 30
    plain, background = decode_rgb(tmp_path / "plain.mp4"), decode_rgb(tmp_path / "background.mp4")
    assert [index_of_frame(frame) for frame in background] == list(range(30))
    for expected, actual in zip(plain, background):
        np.testing.assert_array_equal(actual, expected)  # same encoder, same frames: same bits


def test_background_writer_error_discards_the_partial_file(tmp_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(ValueError, match="first frame"):
        with BackgroundVideoWriter(target, max_queued_frames=2) as writer:
            writer.write(frame_for_index(0))
            for _ in range(20):
                writer.write(frame_for_index(1, width=32))  # wrong size: fails in the encoder thread
                time.sleep(0.01)
            writer.close()
    assert sorted(entry.name for entry in tmp_path.iterdir()) == []
