"""The final log line separates how long the video lasts from how long the run took."""

import pytest

from latentsync.utils.time_format import format_duration, written_video_summary


@pytest.mark.parametrize("seconds, text", [(4.24, "4.2 s"), (59.94, "59.9 s"), (60, "1 min 0 s"),
                                           (719.6, "12 min 0 s"), (3723.4, "1 h 2 min 3 s")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_summary_line():
    assert written_video_summary("out.mp4", 496, 25, 719.6) == "wrote out.mp4: 19.84 s of video in 12 min 0 s"
