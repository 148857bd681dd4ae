"""Decoded dances stand on the floor.

The root height is decoded per frame like any other channel, and nothing holds the feet to the
floor: the dance-first model's dances float with their lowest foot 10-15 cm above it (the real
dancers' toes are within 5 cm of it). The floor under each frame is the lowest joint within
FLOOR_WINDOW seconds either side, smoothed over the same span so the body never steps up or down
at once, and the root is lowered (or raised) by it. A jump keeps its height: it is shorter than
the window, so the floor under it comes from the steps around it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dancemosaic.motion import Motion

FLOOR_WINDOW = 1.0  # seconds either side: longer than any jump's time in the air


def floor_heights(lowest: torch.Tensor, reach: int) -> torch.Tensor:
    """(T,) lowest joint height per frame -> (T,) floor under each frame: the minimum within
    ``reach`` frames either side, then averaged over the same span."""
    span = 2 * reach + 1
    padded = F.pad(lowest[None, None], (reach, reach), mode="replicate")
    minimum = -F.max_pool1d(-padded, span, stride=1)
    padded = F.pad(minimum, (reach, reach), mode="replicate")
    return F.avg_pool1d(padded, span, stride=1)[0, 0]


def on_the_floor(motion: Motion) -> Motion:
    """``motion`` with its root height moved so that its lowest joint meets the floor (y = 0)."""
    lowest = motion.joints()[..., 1].min(dim=-1).values  # (T,)
    reach = min(round(FLOOR_WINDOW * motion.fps), motion.num_frames - 1)
    if reach < 1:
        return Motion(
            motion.rotations, motion.root - torch.tensor([0.0, 1.0, 0.0]) * lowest[:, None], motion.fps
        )
    root = motion.root.clone()
    root[:, 1] -= floor_heights(lowest, reach).to(root)
    return Motion(motion.rotations, root, motion.fps)
