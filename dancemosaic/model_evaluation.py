"""Model rows of the evaluation table on the held-out track and clips.

Rows: (b) the full model, (b') the full model without beat refinement, (c) without the music tower
(no music given, so no beats to refine towards either), (d) without guidance (all weights 1; beat
refinement on), (e) retrieval: a random training dance time-warped onto the track. Each generated
dance covers the whole held-out track (long-form, windows stitched); FID and diversity use its
5 s windows against the training pool, BAS its whole length against the track's beats.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from dancemosaic import metrics, music
from dancemosaic.dance import Edit, Request
from dancemosaic.datasets.corpus import load_index, load_joints, load_motion
from dancemosaic.datasets.pairs import warp_joints
from dancemosaic.engine import DanceEngine
from dancemosaic.evaluation import WINDOW, training_pool, windows
from dancemosaic.guidance import GuidanceOptions
from dancemosaic.pairing import fit_warp
from dancemosaic.rhythm import BeatOptions
from dancemosaic.sampling import SamplingOptions
from dancemosaic.timing import FPS


def score_dances(
    name: str, dances: list[np.ndarray], pool: list[np.ndarray], beats: list[np.ndarray]
) -> dict:
    """One table row: FID, diversity and FSR of the dances' 5 s windows against ``pool``, and their
    mean BAS against each dance's music ``beats``."""
    clips = [w for d in dances for w in windows(d, WINDOW // 2)]
    row = {"name": name} | metrics.evaluate_motions(clips, pool, FPS)
    scores = [metrics.dance_bas(d, b) for d, b in zip(dances, beats, strict=True)]
    row["BAS"] = float(np.nanmean(scores))
    row["n_dances"] = len(dances)
    return row


def _prompts(index: dict) -> list[str]:
    return sorted({e["text"] for e in index["clips"] if e["split"] == "test"})


def model_rows(
    engine: DanceEngine, cache: Path, data_root: Path, seeds: int = 1, max_seconds: float = 60.0
) -> list[dict]:
    """Rows (b)-(e) and body-part editing for ``engine`` on the held-out track (its first ``max_seconds``)."""
    index = load_index(cache)
    track = Path(data_root) / index["test_music"][0]
    track_beats = music.extract_features(music.load_audio(track)).beat_frames
    pool = training_pool(cache)
    variants = {
        "(b) full model": (True, SamplingOptions()),
        "(b') full model without beat refinement": (True, SamplingOptions(beat=BeatOptions(steps=0))),
        "(c) without the music tower": (False, SamplingOptions()),
        "(d) without guidance": (
            True,
            SamplingOptions(guidance=GuidanceOptions(text=1.0, music=1.0, pose=1.0)),
        ),
    }
    rows = []
    for name, (with_music, options) in variants.items():
        dances = []
        for prompt in _prompts(index):
            for seed in range(seeds):
                request = Request(prompt, song=track if with_music else None, seed=seed, duration=max_seconds)
                dances.append(engine.generate(request, options).motion.joints().numpy())
        beats = [track_beats[track_beats < len(d)] for d in dances]
        rows.append(score_dances(name, dances, pool, beats))
    rows.append(
        retrieval_row(cache, index, track_beats, pool, len(_prompts(index)) * seeds, int(max_seconds * FPS))
    )
    rows.append(pose_row(engine, cache))
    return rows


def retrieval_row(
    cache: Path, index: dict, track_beats: np.ndarray, pool: list[np.ndarray], count: int, frames: int
) -> dict:
    """(e): random training dances (dance prompts only) time-warped onto the track's beats."""
    dances = [e for e in index["clips"] if e["split"] == "train" and "dance" in e["text"]]
    generator = torch.Generator().manual_seed(0)
    joints, beats = [], []
    for i in torch.randint(len(dances), (count,), generator=generator).tolist():
        source = load_joints(cache, dances[i])
        warp = fit_warp(metrics.motion_beats(source), track_beats, len(source), frames)
        joints.append(warp_joints(source, warp.source_frames))
        beats.append(track_beats - warp.music_start)
    return score_dances("(e) retrieval: a training dance warped to the music", joints, pool, beats)


LOWER_BODY = (0, 1, 2, 4, 5, 7, 8, 10, 11)


def pose_row(engine: DanceEngine, cache: Path, start: float = 2.0, end: float = 6.0) -> dict:
    """Body-part editing on the held-out clips: keep the lower body, regenerate the rest of [start, end).

    Joint distance (m) between the kept joints and their targets, with and without token optimisation.
    """
    index = load_index(cache)
    distances: dict[str, list[float]] = {"without_optimisation": [], "with_optimisation": []}
    for entry in (e for e in index["clips"] if e["split"] == "test" and not e["mirrored"]):
        dance = engine.dance_from_motion(load_motion(cache, entry), entry["text"])
        target = dance.motion.joints().numpy()
        mask = np.zeros(target.shape[:2], dtype=bool)
        mask[int(start * FPS) : int(end * FPS), list(LOWER_BODY)] = True
        for key, steps in (("without_optimisation", 0), ("with_optimisation", 100)):
            edited = engine.edit(
                dance, Edit(start, end, joints=LOWER_BODY), SamplingOptions(refine_steps=steps)
            )
            joints = edited.motion.joints().numpy()[: len(target)]
            distances[key].append(metrics.joint_distance(joints, target, mask))
    return {"name": "body-part editing (lower body kept, 2-6 s of each held-out clip)"} | {
        f"joint_distance_m_{k}": float(np.mean(v)) for k, v in distances.items()
    }
