"""``--speaker``: which face of a multi-face video is lip-synced.

``largest`` (the default) is the original's per-frame rule: the detector's largest face, so in a two-person shot
the mouth may jump between people. The other modes first link the detections of the whole video into face tracks
(box overlap; a track survives ``max_face_gap`` missing frames; a scene cut starts new tracks), then choose one
track: ``center`` the one nearest the frame centre, ``point:X,Y[@SECONDS]`` the one whose box holds that pixel,
``active`` the one whose lips move with the video's own soundtrack (SyncNet-v2 confidence when its weights are
there, else the correlation of lip opening with loudness). ``center`` and ``active`` decide per scene.
``SpeakerSelector.plan`` returns the chosen face of each frame as data (``SpeakerPlan``); the pipeline aligns
those faces as it aligns detected ones, and frames without a chosen face pass through unchanged.
Memory: one pass keeps a box, three points and a number per face and frame, never the frames.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from latentsync.analysis.face_box_tracks import FaceBoxTrack, box_iou
from latentsync.analysis.scene_detection import SceneCutDetector
from latentsync.analysis.syncnet_crops import TrackCropper
from latentsync.analysis.syncnet_eval import SAMPLES_PER_FRAME
from latentsync.errors import InputError
from latentsync.face.landmarks.detector import DetectedFace, FaceLandmarkDetector
from latentsync.face.speaker_choice import SpeakerChoice
from latentsync.face.tracking import DETECTION_BATCH
from latentsync.io.audio_reader import to_pcm16
from latentsync.io.video_source import VideoSource
from latentsync.utils.loudness import frame_loudness_db

logger = logging.getLogger(__name__)

TRACK_IOU = 0.3  # a detection continues a track when its box overlaps the track's last box at least this much
MAX_LAG = 2  # frames lips may lead or trail the loudness when correlating them
MIN_SCORED_FRAMES = 8  # tracks with fewer detections in a scene cannot be judged active
MAX_SCORED_FRAMES = 250  # SyncNet sees at most the first 10 s of a track (crops are kept in memory)
AUDIO_SAMPLE_RATE = 16000
SILENT_DB = -100.0  # the loudness floor of the lip/loudness correlation

TrackScorer = Callable[[np.ndarray, np.ndarray], float]
"""(T, 224, 224, 3) uint8 BGR face crops at 25 fps, their 16 kHz int16 audio -> how well they agree (higher: better)."""


@dataclass
class SpeakerTrack:
    """One face followed through one scene: its detections by frame index."""

    number: int
    scene: int
    faces: dict[int, DetectedFace] = field(default_factory=dict)

    @property
    def last_frame(self) -> int:
        return next(reversed(self.faces))


def link_speaker_tracks(detections: Sequence[Sequence[DetectedFace]], scenes: Sequence[tuple[int, int]],
                     max_face_gap: int) -> list[SpeakerTrack]:
    """Chain each scene's detections into tracks: a face joins the open track whose last box overlaps it most
    (IoU at least ``TRACK_IOU``, at most ``max_face_gap`` frames missing since); otherwise it starts a track."""
    tracks: list[SpeakerTrack] = []
    for scene, (start, end) in enumerate(scenes):
        open_tracks: list[SpeakerTrack] = []
        for index in range(start, end):
            open_tracks = [track for track in open_tracks if index - track.last_frame <= max_face_gap + 1]
            pairs = sorted(((box_iou(face.box, track.faces[track.last_frame].box), f, t)
                            for f, face in enumerate(detections[index]) for t, track in enumerate(open_tracks)),
                           key=lambda pair: -pair[0])
            taken_faces, taken_tracks = set(), set()
            for overlap, f, t in pairs:
                if overlap >= TRACK_IOU and f not in taken_faces and t not in taken_tracks:
                    open_tracks[t].faces[index] = detections[index][f]
                    taken_faces.add(f)
                    taken_tracks.add(t)
            for f, face in enumerate(detections[index]):
                if f not in taken_faces:
                    track = SpeakerTrack(len(tracks), scene, {index: face})
                    tracks.append(track)
                    open_tracks.append(track)
    return tracks


def center_distances(tracks: Sequence[SpeakerTrack], frame_size: tuple[int, int]) -> list[float]:
    """Mean distance of each track's box centre from the frame centre, in frame widths (lower: more central)."""
    width, height = frame_size
    centre = np.array([width / 2, height / 2])
    return [float(np.mean([np.linalg.norm((face.box[:2] + face.box[2:]) / 2 - centre) for face in track.faces.values()])
                  / width) for track in tracks]


def lip_loudness_agreement(track: SpeakerTrack, loudness: np.ndarray) -> float:
    """Best Pearson correlation, over lags of up to ``MAX_LAG`` frames, of the lip opening with the loudness."""
    frames = np.array([index for index, face in track.faces.items() if face.mouth_opening is not None])
    if len(frames) < MIN_SCORED_FRAMES:
        return float("-inf")
    opening = np.array([track.faces[index].mouth_opening for index in frames])
    best = float("-inf")
    for lag in range(-MAX_LAG, MAX_LAG + 1):
        audio_frames = frames + lag
        inside = (audio_frames >= 0) & (audio_frames < len(loudness))
        if inside.sum() < MIN_SCORED_FRAMES:
            continue
        lips, sound = opening[inside], loudness[audio_frames[inside]]
        if lips.std() > 0 and sound.std() > 0:
            best = max(best, float(np.corrcoef(lips, sound)[0, 1]))
    return best


def syncnet_scorer(weights: Path, device: str = "cpu") -> TrackScorer:
    """SyncNet-v2 confidence (the evaluation's LSE-C) of a track's crops against its audio."""
    from latentsync.analysis.syncnet_eval import SyncNetEval
    from latentsync.analysis.syncnet_v2 import load_syncnet_v2

    syncnet = SyncNetEval(load_syncnet_v2(weights, device), device)
    return lambda crops, audio: syncnet.evaluate(crops, audio).confidence


@dataclass(frozen=True)
class SpeakerPlan:
    """The face each source frame lip-syncs (``None``: the frame passes through) and the tracks it comes from."""

    choice: SpeakerChoice
    faces: list[DetectedFace | None]
    chosen: list[SpeakerTrack]

    def describe(self) -> str:
        """E.g. ``center (track 1, frames 0-39)``: for the log and the run's report."""
        tracks = ", ".join(f"track {track.number}, frames {next(iter(track.faces))}-{track.last_frame}"
                           for track in self.chosen)
        return f"{self.choice} ({tracks})" if tracks else str(self.choice)


class SpeakerSelector:
    """Plans which face each frame lip-syncs (see the module's docstring).

    ``active`` scores with SyncNet-v2 when ``syncnet_path`` is a file (``scorer`` replaces it in tests), else with
    the lip opening's correlation with the loudness.
    """

    def __init__(self, choice: SpeakerChoice | str, max_face_gap: int = 2, syncnet_path: str | Path | None = None,
                 scorer: TrackScorer | None = None, device: str = "cpu") -> None:
        self.choice = SpeakerChoice.parse(choice)
        self.max_face_gap = max_face_gap
        if self.choice.mode == "active" and scorer is None and syncnet_path is not None and Path(syncnet_path).is_file():
            scorer = syncnet_scorer(Path(syncnet_path), device)
        self.scorer = scorer

    def plan(self, reader: VideoSource, num_frames: int, detector: FaceLandmarkDetector) -> SpeakerPlan:
        """The chosen track's face for source frames ``0..num_frames-1`` (None elsewhere)."""
        detections, scenes, frame_size = self.detect_all(reader, num_frames, detector)
        tracks = link_speaker_tracks(detections, scenes, self.max_face_gap)
        chosen = self.choose(tracks, scenes, frame_size, reader)
        faces: list[DetectedFace | None] = [None] * len(detections)
        for track in chosen:
            for index, face in track.faces.items():
                faces[index] = face
        return SpeakerPlan(self.choice, faces, chosen)

    @staticmethod
    def detect_all(reader: VideoSource, num_frames: int, detector: FaceLandmarkDetector
                   ) -> tuple[list[list[DetectedFace]], list[tuple[int, int]], tuple[int, int]]:
        """Every face and the scene cuts of the first ``num_frames`` frames, and the frame size (width, height)."""
        cuts = SceneCutDetector(fps=float(reader.fps))
        detections: list[list[DetectedFace]] = []
        frame_size = (0, 0)
        frames = itertools.islice(reader.frames(), num_frames)
        while batch := list(itertools.islice(frames, DETECTION_BATCH)):
            for frame in batch:
                cuts.update(frame)
            frame_size = (batch[0].shape[1], batch[0].shape[0])
            detections += detector.detect_all(batch)
        return detections, cuts.scenes(), frame_size

    def choose(self, tracks: list[SpeakerTrack], scenes: list[tuple[int, int]], frame_size: tuple[int, int],
               reader: VideoSource) -> list[SpeakerTrack]:
        """The chosen track of each scene (``point``: the one track at that point), logged with the scores."""
        mode = self.choice.mode
        if mode == "point":
            return [self._track_at_point(tracks, reader)]
        if mode == "center":
            scores = [-distance for distance in center_distances(tracks, frame_size)]
        elif mode == "active":
            scores = self._activity(tracks, reader)
        else:
            raise ValueError(f"speaker mode {mode!r} does not choose tracks")
        chosen = []
        for scene, (start, end) in enumerate(scenes):
            in_scene = [(score, track) for score, track in zip(scores, tracks) if track.scene == scene]
            if not in_scene:
                continue
            for score, track in in_scene:
                logger.info("speaker %s, scene %d (frames %d-%d): track %d, %d frames, score %.3f", mode, scene,
                            start, end - 1, track.number, len(track.faces), score)
            best_score, best = max(in_scene, key=lambda pair: pair[0])
            logger.info("speaker %s, scene %d: chose track %d (score %.3f)", mode, scene, best.number, best_score)
            chosen.append(best)
        return chosen

    def _track_at_point(self, tracks: list[SpeakerTrack], reader: VideoSource) -> SpeakerTrack:
        x, y, seconds = self.choice.x, self.choice.y, self.choice.seconds
        frame = None if seconds is None else round(seconds * reader.fps)

        def holds_point(face: DetectedFace) -> bool:
            return face.box[0] <= x <= face.box[2] and face.box[1] <= y <= face.box[3]

        candidates = [(index, track) for track in tracks for index, face in track.faces.items()
                      if holds_point(face) and (frame is None or index == frame)]
        if not candidates:
            when = "in any frame" if frame is None else f"at {seconds:g} s (frame {frame})"
            raise InputError(f"no face of {reader.name} contains pixel ({x:g}, {y:g}) {when}; give a point inside "
                             "the face to lip-sync (x from the left, y from the top, in the video's pixels)")
        index, track = min(candidates, key=lambda candidate: candidate[0])
        logger.info("speaker %s: track %d (frames %d-%d, %d with a face) holds it in frame %d", self.choice,
                    track.number, next(iter(track.faces)), track.last_frame, len(track.faces), index)
        return track

    def _activity(self, tracks: list[SpeakerTrack], reader: VideoSource) -> list[float]:
        """How well each track's lips follow the video's own audio (SyncNet confidence, or lip/loudness correlation)."""
        try:
            waveform = reader.soundtrack(AUDIO_SAMPLE_RATE)
        except InputError as error:
            raise InputError(f"--speaker active compares lips with the video's own soundtrack: {error}") from None
        if self.scorer is None:
            num_frames = 1 + max((track.last_frame for track in tracks), default=0)
            # silent frames (and those past the audio's end) at a finite floor, so correlations stay defined
            loudness = np.maximum(frame_loudness_db(waveform, num_frames, reader.fps, AUDIO_SAMPLE_RATE), SILENT_DB)
            return [lip_loudness_agreement(track, loudness) for track in tracks]
        return self._syncnet_scores(tracks, reader, waveform)

    def _syncnet_scores(self, tracks: list[SpeakerTrack], reader: VideoSource, waveform: np.ndarray) -> list[float]:
        """The scorer on each track's crops (a second pass over the frames, at most ``MAX_SCORED_FRAMES`` a track)."""
        spans = []
        for track in tracks:
            seen = np.array(list(track.faces))[:MAX_SCORED_FRAMES]
            frames = np.arange(seen[0], seen[-1] + 1)
            boxes = np.stack([track.faces[index].box for index in seen])
            spans.append(FaceBoxTrack(frames, np.stack(
                [np.interp(frames, seen, boxes[:, column]) for column in range(4)], axis=1)))
        cropper = TrackCropper(spans)
        last = max(int(span.frames[-1]) for span in spans)
        for index, frame in enumerate(itertools.islice(reader.frames(), last + 1)):
            cropper.update(index, frame)
        audio = to_pcm16(waveform)
        scores = []
        for span, crops in zip(spans, cropper.crops, strict=True):
            if len(crops) < MIN_SCORED_FRAMES:
                scores.append(float("-inf"))
                continue
            start, stop = int(span.frames[0]) * SAMPLES_PER_FRAME, (int(span.frames[-1]) + 1) * SAMPLES_PER_FRAME
            scores.append(float(self.scorer(np.stack(crops), audio[start:stop])))
        return scores
