"""Pose strips: for each held-out song, the real dancer and the model's dances side by side over time.

    python benchmarks/pose_strips.py [--checkpoint DIR] [--cache cache/corpus] [--seeds 2]
        [--start 8] [--seconds 8] [--every 0.5] [--keep-dances DIR] [--out benchmarks/figures]

One PNG per held-out real music-dance pair (``pose_strip_<song>.png``) and all of them stacked
(``pose_strips.png``): a stick figure every ``--every`` seconds from ``--start`` for ``--seconds``,
the real dancer on the top row and the full model's dances (``--seeds`` of them, the style's prompt
and the song, as the evaluation dances them) below. Front view: each dance is turned once so that
its first frame faces the viewer, so a turn in the dance shows as a turn in the strip; each figure
stands on the floor line where its pelvis is, horizontally centred in its cell. Left limbs are
blue, right limbs red. Look at these before trusting a number.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from dancemosaic import movement, skeleton  # noqa: E402
from dancemosaic.engine import DEFAULT_CHECKPOINT, DanceEngine  # noqa: E402
from dancemosaic.real_evaluation import DEFAULT_SECONDS, held_out_segments, song_segment  # noqa: E402
from dancemosaic.real_rows import MODEL_ROWS, model_dances  # noqa: E402
from dancemosaic.style import facing_yaw, in_body_frame  # noqa: E402
from dancemosaic.timing import FPS  # noqa: E402

CELL_W, CELL_H = 84, 150  # pixels per figure
LABEL_W = 150
TITLE_H = 40
METRES_TO_PX = 70  # a 1.7 m dancer is about 120 px tall
LEFT, RIGHT, CENTRE = (40, 90, 200), (200, 50, 40), (40, 40, 40)


def bone_colour(joint: int) -> tuple[int, int, int]:
    name = skeleton.JOINT_NAMES[joint]
    return LEFT if name.startswith("left") else RIGHT if name.startswith("right") else CENTRE


def front_view(dance: np.ndarray) -> np.ndarray:
    """(T, 22, 3) -> (T, 22, 2) screen x, y in metres: root-relative x, height, first frame facing us."""
    p = dance[:, :22]
    relative = p - p[:, :1] * np.array([1.0, 0.0, 1.0])  # keep the height, drop the floor position
    turned = in_body_frame(relative, np.full(len(p), facing_yaw(p[:1])[0]))
    return np.stack([-turned[..., 0], turned[..., 1]], axis=-1)  # the dancer's left on screen right


def draw_figure(draw: ImageDraw.ImageDraw, pose: np.ndarray, left: int, floor: int) -> None:
    """One stick figure: pose (22, 2) metres, drawn in the cell whose left edge is ``left``."""
    centre = left + CELL_W / 2
    points = [(centre + x * METRES_TO_PX, floor - y * METRES_TO_PX) for x, y in pose]
    for joint in range(1, 22):
        draw.line([points[skeleton.PARENTS[joint]], points[joint]], fill=bone_colour(joint), width=3)
    head = points[15]
    draw.ellipse([head[0] - 6, head[1] - 12, head[0] + 6, head[1]], outline=CENTRE, width=2)


def strip(
    rows: list[tuple[str, np.ndarray]], title: str, start: float, seconds: float, every: float
) -> Image:
    """A strip image: one row per (label, dance), one figure per ``every`` seconds."""
    frames = [round((start + k * every) * FPS) for k in range(int(round(seconds / every)))]
    image = Image.new("RGB", (LABEL_W + CELL_W * len(frames), TITLE_H + CELL_H * len(rows)), "white")
    draw = ImageDraw.Draw(image)
    draw.text((6, 6), title, fill=CENTRE)
    for k, frame in enumerate(frames):
        draw.text((LABEL_W + k * CELL_W + 4, TITLE_H - 14), f"{frame / FPS:.1f}s", fill=(120, 120, 120))
    for r, (label, dance) in enumerate(rows):
        top = TITLE_H + r * CELL_H
        floor = top + CELL_H - 12
        draw.line([(LABEL_W, floor), (image.width, floor)], fill=(200, 200, 200))
        for i, line in enumerate(label.split("\n")):
            draw.text((6, top + 40 + 14 * i), line, fill=CENTRE)
        view = front_view(dance)
        for k, frame in enumerate(frames):
            if frame < len(view):
                draw_figure(draw, view[frame], LABEL_W + k * CELL_W, floor)
    return image


def describe(dance: np.ndarray) -> str:
    """Speed and spread, and the spread in the body's frame (turning on the spot not counted)."""
    speed, spread = movement.joint_speed(dance), movement.pose_spread(dance)
    body = movement.body_spread(dance)
    return f"{speed:.2f} m/s, spread {100 * spread:.1f} cm\nbody-frame spread {100 * body:.1f} cm"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--cache", type=Path, default=Path("cache/corpus"))
    parser.add_argument("--seeds", type=int, default=2, help="generated dances per song")
    parser.add_argument("--start", type=float, default=8.0, help="first figure (s)")
    parser.add_argument("--seconds", type=float, default=8.0, help="span of the strip (s)")
    parser.add_argument("--every", type=float, default=0.5, help="seconds between figures")
    parser.add_argument("--keep-dances", type=Path, default=None, help="as `evaluate --keep-dances`")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "figures")
    args = parser.parse_args()
    engine = DanceEngine.from_pretrained(args.checkpoint)
    segments = held_out_segments(args.cache, DEFAULT_SECONDS)
    name, with_music, options, folder = MODEL_ROWS[0]
    store = args.keep_dances / folder if args.keep_dances else None
    args.out.mkdir(parents=True, exist_ok=True)
    images = []
    with tempfile.TemporaryDirectory() as tmp:
        songs = {s.name: song_segment(s, Path(tmp)) for s in segments}
        generated = model_dances(engine, segments, songs, range(args.seeds), with_music, options, store)
    for segment in segments:
        rows = [(f"real dancer\n{describe(segment.real)}", segment.real)]
        rows += [(f"{name}, seed {k}\n{describe(d)}", d) for k, d in enumerate(generated[segment.name])]
        title = f'{segment.name} ({segment.style}): "{segment.prompt}", {engine.checkpoint_id}'
        image = strip(rows, title, args.start, args.seconds, args.every)
        image.save(args.out / f"pose_strip_{segment.name}.png", optimize=True)
        images.append(image)
    stacked = Image.new("RGB", (max(i.width for i in images), sum(i.height for i in images)), "white")
    for k, image in enumerate(images):
        stacked.paste(image, (0, sum(i.height for i in images[:k])))
    stacked.save(args.out / "pose_strips.png", optimize=True)
    print("\n".join(str(args.out / f"pose_strip_{s.name}.png") for s in segments))


if __name__ == "__main__":
    main()
