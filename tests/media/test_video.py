"""Video hashing on generated videos: sampling, letterbox cropping, match rule, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from daybreak.media.hashing import CorruptMedia, DecompressionBomb, EmptyMedia, UnsupportedMedia
from daybreak.media.index import hamming, parse_pdq
from daybreak.media.video import (
    FrameHash,
    VideoMatchRule,
    compare_videos,
    crop_letterbox,
    hash_video_bytes,
    match_video,
)

from .gen import make_video, scene, shapes


def test_one_frame_per_second_with_timestamps(scene_video: bytes) -> None:
    v = hash_video_bytes(scene_video)
    assert [round(f.timestamp) for f in v.frames] == [0, 1, 2, 3]
    assert all(len(f.pdq) == 64 and f.quality >= 50 for f in v.frames)
    assert len(v.md5) == 32 and len(v.sha256) == 64
    two = hash_video_bytes(scene_video, fps=2.0)
    assert len(two.frames) == 8
    d = v.to_dict()
    assert d["kind"] == "video" and len(d["frames"]) == 4 and d["pdq"] in {f.pdq for f in v.frames}


def test_letterbox_bars_are_cropped() -> None:
    img = shapes(seed=12)
    boxed = np.zeros((img.shape[0] + 80, img.shape[1] + 60, 3), dtype=np.uint8)
    boxed[40:-40, 30:-30] = img
    assert crop_letterbox(boxed).shape == img.shape
    flat_dark = np.zeros((50, 50, 3), dtype=np.uint8)
    assert crop_letterbox(flat_dark).shape == flat_dark.shape


def test_letterboxed_copy_matches_the_original(scene_video: bytes) -> None:
    def boxed(i: int) -> np.ndarray:
        out = np.zeros((320, 320, 3), dtype=np.uint8)
        out[40:280] = scene(i)
        return out

    orig = hash_video_bytes(scene_video).frames
    copy = hash_video_bytes(make_video(boxed)).frames
    for a, b in zip(orig, copy, strict=True):
        assert int(hamming(parse_pdq([a.pdq]), parse_pdq([b.pdq]))[0]) <= 31


def test_match_rule_clips_and_unrelated(scene_video: bytes, other_video: bytes) -> None:
    full = hash_video_bytes(scene_video).frames
    other = hash_video_bytes(other_video).frames
    clip = full[1:3]
    assert compare_videos(clip, full).matched  # a clip matches the whole video
    strict = VideoMatchRule(listed_share=0.8)
    assert not compare_videos(clip, full, strict).matched  # unless the rule says both ways
    assert compare_videos(full, full, strict).matched
    assert not compare_videos(other, full).matched
    ranked = match_video(clip, {"other": other, "full": full})
    assert [m.listed for m in ranked] == ["full", "other"] and ranked[0].matched


def test_low_quality_frames_do_not_count() -> None:
    good = FrameHash(0, 0.0, 100, "f" * 64)
    flat = FrameHash(0, 0.0, 0, "f" * 64)
    assert compare_videos([good], [good]).matched
    assert not compare_videos([flat], [good]).matched


def test_bad_video_input(scene_video: bytes) -> None:
    with pytest.raises(EmptyMedia):
        hash_video_bytes(b"")
    with pytest.raises(UnsupportedMedia, match=r"clip\.bin"):
        hash_video_bytes(b"\x00\x01\x02 definitely not a video" * 50, "clip.bin")
    with pytest.raises((CorruptMedia, UnsupportedMedia), match=r"cut\.mp4"):
        hash_video_bytes(scene_video[: len(scene_video) // 2], "cut.mp4")
    with pytest.raises(ValueError, match="fps"):
        hash_video_bytes(scene_video, fps=0)
    with pytest.raises(DecompressionBomb, match="320x240"):
        hash_video_bytes(scene_video, "big.mp4", max_pixels=10_000)
