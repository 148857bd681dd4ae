"""Music-dance pairs built by time-warping: there are no recorded pairs, so we make them.

A dance's kinematic beats (speed minima) are matched to a track's beats by dynamic programming:
the longest chain of (motion beat, music beat) anchors whose local playback rate stays within
[MIN_RATE, MAX_RATE] (monotone, bounded stretch) and skips at most MAX_SKIP beats of either kind
between anchors. The warp is piecewise linear through the anchors, so every anchored motion beat
lands exactly on a music beat; the pair keeps the anchored stretch and half a second around it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dancemosaic.motion import Motion, sample_frames

MIN_RATE = 0.8  # source frames per output frame: the dance plays at most 25 % slower ...
MAX_RATE = 1.25  # ... or 25 % faster than recorded
MAX_SKIP = 3  # at most this many beats of either kind pass between two anchors
MARGIN_FRAMES = 15.0  # frames kept beyond the first and last anchors (half a second)


@dataclass(frozen=True)
class Warp:
    """Output frame u (on the track, from ``music_start``) shows source frame ``source_frames[u]``."""

    source_frames: np.ndarray  # (U,) fractional, non-decreasing
    music_start: int  # the track frame that output frame 0 plays against
    anchors: int  # how many motion beats were placed on music beats

    @property
    def num_frames(self) -> int:
        return len(self.source_frames)


def _chain(motion_beats: np.ndarray, music_beats: np.ndarray) -> list[tuple[int, int]]:
    """Longest rate-bounded monotone chain of (motion beat index, music beat index)."""
    k_count, j_count = len(motion_beats), len(music_beats)
    score = np.ones((k_count, j_count))
    back = np.full((k_count, j_count, 2), -1, dtype=np.int64)
    for k in range(1, k_count):
        for dk in range(1, min(MAX_SKIP, k) + 1):
            for dj in range(1, MAX_SKIP + 1):
                rate = (motion_beats[k] - motion_beats[k - dk]) / np.maximum(
                    music_beats[dj:] - music_beats[:-dj], 1e-9
                )  # (J - dj,): rate if k-dk -> j-dj and k -> j
                ok = (rate >= MIN_RATE) & (rate <= MAX_RATE)
                candidate = np.where(ok, score[k - dk, :-dj] + 1, -np.inf)
                better = candidate > score[k, dj:]
                score[k, dj:][better] = candidate[better]
                back[k, dj:][better] = np.stack([np.full(better.sum(), k - dk), np.flatnonzero(better)], -1)
    k, j = np.unravel_index(np.argmax(score), score.shape)
    chain = [(int(k), int(j))]
    while back[chain[-1]][0] >= 0:
        chain.append(tuple(int(v) for v in back[chain[-1]]))
    return chain[::-1]


def fit_warp(motion_beats: np.ndarray, music_beats: np.ndarray, num_frames: int, track_frames: int) -> Warp:
    """The warp that puts a ``num_frames`` dance with these beats on a ``track_frames`` track.

    The result fits inside the track; motion before or after the anchored stretch plays at rate 1.
    """
    motion_beats = np.asarray(motion_beats, dtype=np.float64)
    music_beats = np.asarray(music_beats, dtype=np.float64)
    music_beats = music_beats[music_beats < track_frames]  # beats past the track's end cannot anchor
    if len(motion_beats) == 0 or len(music_beats) == 0:
        frames = np.arange(min(num_frames, track_frames), dtype=np.float64)
        return Warp(frames, 0, 0)
    chain = _chain(motion_beats, music_beats)
    src = np.array([motion_beats[k] for k, _ in chain])
    dst = np.array([music_beats[j] for _, j in chain])
    # Keep the anchored stretch plus up to MARGIN_FRAMES at rate 1 on either side: beyond the
    # anchors the dance no longer follows the music, and such frames would teach the opposite.
    head = min(src[0], MARGIN_FRAMES)
    tail = min(num_frames - 1.0 - src[-1], MARGIN_FRAMES)
    src = np.concatenate([[src[0] - head], src, [src[-1] + tail]])
    dst = np.concatenate([[dst[0] - head], dst, [dst[-1] + tail]])
    first = int(np.ceil(max(dst[0], 0.0)))
    last = int(np.floor(min(dst[-1], track_frames - 1.0)))
    out = np.arange(first, last + 1, dtype=np.float64)
    return Warp(np.interp(out, dst, src), first, len(chain))


def apply_warp(motion: Motion, warp: Warp) -> Motion:
    """The dance as it plays against the track from ``warp.music_start``."""
    return sample_frames(motion, torch.from_numpy(warp.source_frames), motion.fps)
