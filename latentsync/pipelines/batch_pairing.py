"""Which video goes with which audio in a batch, and where each result goes.

``original`` is the protocol of the original's evaluation script (``eval/inference_videos.py``), whose outputs are
the videos its numbers were measured on: a ``random.Random(seed)`` (seed 42) shuffles both lists, both are cut to
the shorter length, both are shuffled again, and the i-th video of the result goes with the i-th audio (a random
cross-pairing); each result is ``<output_dir>__<seed>/<video name>__<audio name>.mp4``, a name being the file's
base name less its last 4 characters (its extension when that has 3 letters), as the original cuts it.
``lines`` pairs line i of one list with line i of the other (lists of equal length) into
``<output_dir>/<video stem>_out.mp4``.

A blank line is a path like any other for the shuffle (the original reads it as an empty path), so blank lines
leave every other pair as the original's; a pair with a blank side is reported, not run.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

from latentsync.errors import InputError

PAIRINGS = ("original", "lines")
ORIGINAL_SHUFFLE_SEED = 42  # the original script's seed: it only shuffles the lists (each pair runs with 1247)
LINES_OUTPUT_SUFFIX = "_out.mp4"


@dataclass(frozen=True)
class LipsyncJob:
    video_path: Path
    audio_path: Path
    output_path: Path


@dataclass(frozen=True)
class PairedLists:
    """The jobs in the order they run, and the pairs a blank line left without a file (never run)."""

    jobs: list[LipsyncJob]
    blank: list[tuple[str, str]]


def read_list_lines(list_path: str | os.PathLike) -> list[str]:
    """The lines of a file list, stripped, blank ones kept (as the original reads them); ``InputError`` when the
    file is missing."""
    list_path = Path(list_path)
    if not list_path.is_file():
        raise InputError(f"file list {list_path} not found; write one path a line")
    return [line.strip() for line in list_path.read_text(encoding="utf-8").splitlines()]


def shuffled_pairs(videos: list[str], audios: list[str], seed: int) -> list[tuple[str, str]]:
    """The original's random cross-pairing: shuffle both, cut both to the shorter, shuffle both again, zip."""
    shuffler = random.Random(seed)  # the draws of the original's random.seed(seed), without touching the global state
    videos, audios = list(videos), list(audios)
    shuffler.shuffle(videos)
    shuffler.shuffle(audios)
    length = min(len(videos), len(audios))
    videos, audios = videos[:length], audios[:length]
    shuffler.shuffle(videos)
    shuffler.shuffle(audios)
    return list(zip(videos, audios))


def original_output_dir(output_dir: str | os.PathLike, seed: int) -> Path:
    """``<output_dir>__<seed>`` (a trailing ``/`` of ``output_dir`` is dropped first)."""
    return Path(f"{Path(output_dir)}__{seed}")


def original_name(path: str) -> str:
    """The original's name of a file: its base name less the last 4 characters."""
    return os.path.basename(path)[:-4]


def output_name(pairing: str, video: str, audio: str) -> str:
    """The file name of a pair's result under ``pairing``."""
    if pairing == "original":
        return f"{original_name(video)}__{original_name(audio)}.mp4"
    return f"{Path(video).stem}{LINES_OUTPUT_SUFFIX}"


def pair_lists(video_lines: list[str], audio_lines: list[str], output_dir: str | os.PathLike,
               pairing: str = "original", seed: int = ORIGINAL_SHUFFLE_SEED) -> PairedLists:
    """The jobs of two file lists under ``pairing`` (see the module docstring); ``seed`` shuffles for ``original``.

    Two pairs that would write one output are refused (``InputError``), as are lists of unequal length for
    ``lines``.
    """
    if pairing == "original":
        pairs = shuffled_pairs(video_lines, audio_lines, seed)
        folder = original_output_dir(output_dir, seed)
    elif pairing == "lines":
        video_lines, audio_lines = [line for line in video_lines if line], [line for line in audio_lines if line]
        if len(video_lines) != len(audio_lines):
            raise InputError(f"the video list has {len(video_lines)} paths and the audio list {len(audio_lines)}; "
                             "with --pairing lines line i of one is lip-synced to line i of the other, so they must "
                             "be as long (--pairing original pairs lists of any length)")
        pairs, folder = list(zip(video_lines, audio_lines)), Path(output_dir)
    else:
        raise InputError(f"unknown pairing {pairing!r}; choose one of {', '.join(PAIRINGS)}")
    jobs, blank, writers = [], [], {}
    for video, audio in pairs:
        if not (video and audio):
            blank.append((video, audio))
            continue
        output = folder / output_name(pairing, video, audio)
        if output in writers:
            raise InputError(f"{writers[output]} and {video} + {audio} would both be written to {output}; rename "
                             "one of the files")
        writers[output] = f"{video} + {audio}"
        jobs.append(LipsyncJob(Path(video), Path(audio), output))
    return PairedLists(jobs, blank)
