"""Long-form generation: a whole song of several minutes, and how visible the window seams are.

    python benchmarks/long_form.py [--json] [--minutes 5.5] [--checkpoint DIR]

The model sees one window of tokens at a time; a long song is generated as overlapping windows.
The seam measure compares the frame-to-frame change of mean joint speed (m/s per frame) in the
frames where a new window's tokens begin against all other frames: a visible seam would show up
as a larger jump there. Beat refinement works on windows of its own (BEAT_WINDOW_TOKENS); their
borders are measured the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from dancemosaic import percussion  # noqa: E402
from dancemosaic.dance import Request  # noqa: E402
from dancemosaic.editing import BEAT_WINDOW_TOKENS, span_windows  # noqa: E402
from dancemosaic.engine import DEFAULT_CHECKPOINT, DanceEngine  # noqa: E402
from dancemosaic.timing import FPS, FRAMES_PER_TOKEN, SAMPLE_RATE  # noqa: E402


def window_starts(num_tokens: int, window: int) -> list[int]:
    """First frame of each window's newly decided tokens, replaying the engine's window plan: each
    window takes over where the previous one ended."""
    plan = span_windows(torch.ones(num_tokens, dtype=torch.bool), window)
    return [end * FRAMES_PER_TOKEN for _, end, _, _ in plan][:-1]  # the last window has no successor


def seam_report(joints: np.ndarray, seams: list[int], radius: int = 2) -> dict:
    speed = np.linalg.norm(np.diff(joints, axis=0), axis=-1).mean(axis=1) * FPS  # (T-1,) m/s
    jump = np.abs(np.diff(speed))  # (T-2,)
    near = np.zeros(len(jump), dtype=bool)
    for frame in seams:
        near[max(0, frame - radius) : frame + radius] = True
    return {
        "seams": len(seams),
        "speed_jump_at_seams": float(jump[near].mean()),
        "speed_jump_elsewhere": float(jump[~near].mean()),
        "ratio": float(jump[near].mean() / jump[~near].mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--minutes", type=float, default=5.5)
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    args = parser.parse_args()
    engine = DanceEngine.from_pretrained(args.checkpoint)
    with tempfile.TemporaryDirectory() as folder:
        song = Path(folder) / "song.wav"
        audio, _ = percussion.synthesize(118.0, args.minutes * 60, style="breakbeat", seed=7)
        soundfile.write(song, audio, SAMPLE_RATE)
        start = time.perf_counter()
        dance = engine.generate(Request("a person dances salsa", song=song, seed=0))
        seconds = time.perf_counter() - start
    joints = dance.motion.joints().numpy()
    seams = window_starts(len(dance.codes), engine.model.config.transformer.max_tokens)
    result = {"song_minutes": args.minutes, "dance_seconds": dance.duration, "generate_s": seconds}
    result |= seam_report(joints, seams)
    borders = window_starts(len(dance.codes), BEAT_WINDOW_TOKENS)
    result["beat_refinement_borders"] = seam_report(joints, borders)
    print(json.dumps(result, indent=2) if args.json else "\n".join(f"{k:<22} {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
