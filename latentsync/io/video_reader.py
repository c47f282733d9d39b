"""Stream RGB frames of any video PyAV can open, resampled to a constant frame rate.

The models are trained on 25 fps clips and the audio features come in 1/25 s steps, so every
input video is read on a 25 fps grid. The grid follows ffmpeg's ``fps`` filter (``-vf fps=25``):
each source frame is put in output slot ``round((t - t0) * fps)`` (halves away from zero), where
``t0`` is the first frame's timestamp; output frame ``k`` is the last source frame whose slot is
at most ``k``. Frames are therefore dropped or repeated, never blended, variable-frame-rate input
works, and a clip lasting ``d`` seconds gives ``round(d * fps)`` frames. (The original's
``ffmpeg -r 25`` picks almost the same frames, but its drift thresholds add or shift a frame
or two near the start and end; the filter's rule is exact and reproducible.)

Memory never grows with the video length: frames are decoded one by one and converted to RGB
only when they are yielded. ``iter_frames`` serves the ping-pong order of video looping
(0..n-1, n-1..0, ...) by re-decoding backward runs in blocks of ``block_size`` frames.

Rotation stored as display-matrix side data (phone videos) is applied in multiples of 90
degrees, like ffmpeg's autorotate; mirroring flags and other angles are ignored. Pixels are
treated as square (sample aspect ratio is ignored).
"""

from __future__ import annotations

import functools
import itertools
import math
import os
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction

import av
import numpy as np

from latentsync.io.audio_reader import load_audio
from latentsync.io.paths import check_video_input


class VideoReader:
    """Random-ish, bounded-memory access to the frames of one video on a constant-rate grid.

    Attributes (all read from the header and the first frame, without decoding the rest):
        width, height: size of the yielded frames, after rotation.
        fps: output frame rate (``Fraction``).
        source_fps: nominal input frame rate (``Fraction``), ``None`` when the container gives none.
        duration: input duration in seconds from the header.
        max_buffered_frames: most decoded frames ``iter_frames`` has held at once (at most ``block_size``).
    """

    def __init__(self, path: str | os.PathLike, fps: float | Fraction = 25, block_size: int = 64):
        if block_size < 1:
            raise ValueError(f"block_size must be at least 1, got {block_size}")
        self.path = check_video_input(path)
        self.fps = Fraction(fps).limit_denominator(1001)
        self.block_size = block_size
        self.max_buffered_frames = 0
        with av.open(str(self.path)) as container:
            stream = container.streams.video[0]
            first = next(container.decode(stream))
            self.source_fps = stream.average_rate or stream.guessed_rate
            self.duration = _header_duration(container, stream)
            self._time_base = stream.time_base
        self._start = _frame_time(first)
        self._quarter_turns = round(first.rotation / 90) % 4 if first.rotation % 90 == 0 else 0
        self.width, self.height = first.width, first.height
        if self._quarter_turns % 2:
            self.width, self.height = self.height, self.width

    @property
    def name(self) -> str:
        """How messages name the video: its path."""
        return str(self.path)

    def soundtrack(self, sample_rate: int) -> np.ndarray:
        """The video's own audio track, mono float32 at ``sample_rate`` (``InputError`` without one)."""
        return load_audio(self.path, sample_rate)

    @property
    def estimated_num_frames(self) -> int:
        """Output frame count predicted from the header duration; ``count_frames`` gives the exact one."""
        return _output_length(math.floor(self.duration * self.fps + Fraction(1, 2)))

    def count_frames(self) -> int:
        """Exact number of output frames, from packet timestamps (demuxing only, no decoding); cached."""
        return self._packet_scan[0]

    def __iter__(self) -> Iterator[np.ndarray]:
        return self.frames()

    def frames(self, start: int = 0) -> Iterator[np.ndarray]:
        """Yield output frames ``start, start + 1, ...`` to the end, as (H, W, 3) uint8 RGB arrays.

        Each call re-opens the file, so it can be restarted any number of times; ``start > 0``
        seeks to the keyframe before it instead of decoding from the top.
        """
        for _, frame in self._slots_from(start):
            yield self._to_rgb(frame)

    def iter_frames(self, indices: Iterable[int]) -> Iterator[np.ndarray]:
        """Yield the output frames at ``indices``, in that order, each as a fresh RGB array.

        Cost: an ascending run is one sequential decode (short forward skips decode through,
        long ones seek). Each descending run is decoded a block at a time: seek to the keyframe
        before the block, decode forward through it, then yield it backward; a backward pass
        over n frames costs about ``n * (1 + gop / block_size)`` frame decodes, where ``gop`` is
        the keyframe interval. Formats whose seeks cannot be trusted (MPEG-PS, raw streams)
        decode each block from the top instead. Memory: at most ``block_size`` decoded frames,
        kept in the codec's pixel format and converted to RGB as they are yielded, plus two in
        the decoder's hands. Raises ``IndexError`` for an index past the last frame.
        """
        forward: Iterator[tuple[int, av.VideoFrame]] | None = None
        forward_next = 0
        buffer: list[av.VideoFrame] = []
        buffer_start = 0
        previous = -1
        for index in indices:
            if index < 0:
                raise IndexError(f"frame index {index} is negative")
            if not buffer_start <= index < buffer_start + len(buffer):
                if index < previous:
                    forward = None
                    buffer = []  # release the old block before decoding the next one
                    buffer_start = max(0, index - self.block_size + 1)
                    buffer = self._read_block(buffer_start, index + 1)
                    self.max_buffered_frames = max(self.max_buffered_frames, len(buffer))
                else:
                    if forward is None or not forward_next <= index < forward_next + self.block_size:
                        forward = self._slots_from(index)
                    frame = next((frame for position, frame in forward if position == index), None)
                    if frame is None:
                        raise IndexError(self._past_end_message(index))
                    buffer_start, buffer = index, [frame]  # kept in case the next index repeats this one
                    forward_next = index + 1
            yield self._to_rgb(buffer[index - buffer_start])
            previous = index

    def _read_block(self, start: int, stop: int) -> list[av.VideoFrame]:
        block = []
        for index, frame in self._slots_from(start):
            block.append(frame)
            if index + 1 == stop:
                return block
        raise IndexError(self._past_end_message(stop - 1))

    def _past_end_message(self, index: int) -> str:
        return f"frame {index} is past the end of {self.path} ({self.count_frames()} frames at {self.fps} fps)"

    def _slots_from(self, start: int) -> Iterator[tuple[int, av.VideoFrame]]:
        """Yield ``(output index, source frame)`` for output indices ``>= start``.

        ``start > 0`` seeks to the last keyframe before the slot's earliest timestamp. The seek is
        trusted only if it lands on or before the slot, on a keyframe timestamp seen when reading
        from the top (MPEG-PS, for one, re-derives shifted timestamps after a seek); otherwise
        this decodes from the top.
        """
        with av.open(str(self.path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            if start > 0:
                target = self._start + (start - Fraction(1, 2)) / self.fps
                container.seek(math.floor(target / self._time_base), stream=stream)
            timed = _timed_frames(container.decode(stream), self._default_duration)
            first = next(timed, None)
            if start > 0 and not self._seek_landed(first, start):
                yield from ((index, frame) for index, frame in self._slots_from(0) if index >= start)
                return
            for index, frame in constant_rate_slots(itertools.chain((first,) if first else (), timed), self._slot):
                if index >= start:
                    yield index, frame

    def _seek_landed(self, first: tuple[Fraction, Fraction, av.VideoFrame] | None, start: int) -> bool:
        return first is not None and self._slot(first[0]) <= start and first[2].pts in self._packet_scan[1]

    @functools.cached_property
    def _packet_scan(self) -> tuple[int, frozenset[int]]:
        """One demux pass, no decoding: the exact output frame count and the keyframe timestamps."""
        with av.open(str(self.path)) as container:
            stream = container.streams.video[0]
            packets = [(packet.pts, packet.duration, packet.is_keyframe) for packet in container.demux(stream)
                       if packet.size and not packet.is_discard]
        if any(pts is None for pts, _, _ in packets):  # raw streams: timestamps only exist after decoding
            return sum(1 for _ in self._slots_from(0)), frozenset()
        packets.sort()
        last_pts, last_duration, _ = packets[-1]
        gap = last_pts - packets[-2][0] if len(packets) > 1 else None
        duration = _frame_duration(last_duration, gap, self._time_base, self._default_duration)
        num_frames = _output_length(self._slot(last_pts * self._time_base + duration))
        return num_frames, frozenset(pts for pts, _, is_keyframe in packets if is_keyframe)

    @property
    def _default_duration(self) -> Fraction:
        """Duration of a frame whose container gives none: one nominal source frame."""
        return 1 / Fraction(self.source_fps or self.fps)

    def _slot(self, time: Fraction) -> int:
        return math.floor((time - self._start) * self.fps + Fraction(1, 2))

    def _to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        rgb = frame.to_ndarray(format="rgb24")
        return np.ascontiguousarray(np.rot90(rgb, self._quarter_turns)) if self._quarter_turns else rgb


def _header_duration(container: av.container.InputContainer, stream: av.VideoStream) -> float:
    if stream.duration is not None:
        return float(stream.duration * stream.time_base)
    return (container.duration or 0) / av.time_base


def _frame_time(frame: av.VideoFrame) -> Fraction:
    return Fraction(frame.pts * frame.time_base)


def _timed_frames(frames: Iterable[av.VideoFrame],
                  default_duration: Fraction) -> Iterator[tuple[Fraction, Fraction, av.VideoFrame]]:
    """Attach ``(time, duration)`` in seconds; frames without a timestamp follow the previous one."""
    time = None
    duration = default_duration
    previous_pts = None
    for frame in frames:
        gap = None
        if frame.pts is not None:
            time = _frame_time(frame)
            if previous_pts is not None:
                gap = frame.pts - previous_pts
            previous_pts = frame.pts
        else:
            time = Fraction(0) if time is None else time + duration
        duration = _frame_duration(frame.duration, gap, frame.time_base, default_duration)
        yield time, duration, frame


def _frame_duration(ticks: int, gap: int | None, time_base: Fraction, default: Fraction) -> Fraction:
    """Seconds a frame lasts, estimated as the ffmpeg CLI does.

    The container's duration wins unless it is missing, or is a single tick while frames are
    further apart (libavformat invents that for formats without durations, e.g. AVI); then the
    gap since the previous frame stands in, and failing that one nominal source frame.
    """
    if ticks > 0 and not (ticks == 1 and gap is not None and gap > 2):
        return ticks * time_base
    if gap is not None and gap > 0:
        return gap * time_base
    return default


def constant_rate_slots(timed: Iterable[tuple[Fraction, Fraction, av.VideoFrame]],
              slot_of: Callable[[Fraction], int]) -> Iterator[tuple[int, av.VideoFrame]]:
    """ffmpeg's ``fps`` filter: hold each frame until a later one claims a slot, then emit the held one.

    A frame claiming a slot that is already due replaces the held frame (which is dropped);
    a frame claiming a slot further ahead makes the held one repeat. At the end the last frame
    is repeated up to the slot of its end time.
    """
    held = None
    next_slot = 0
    end = Fraction(0)
    for time, duration, frame in timed:
        slot = slot_of(time)
        if held is None:
            next_slot = slot
        while next_slot < slot:
            yield next_slot, held
            next_slot += 1
        held, end = frame, time + duration
    if held is not None:
        for slot in range(next_slot, _output_length(slot_of(end))):
            yield slot, held


def _output_length(end_slot: int) -> int:
    """A video with at least one frame always yields one, however short its last frame claims to be."""
    return max(1, end_slot)
