"""The foot a dancer stands on does not slide: the body travels over it.

The decoder gives the root's travel on the floor and the pose separately, and nothing ties them
together, so decoded dances skate: on the dance-first model the feet slide in about 60 % of the
frames they touch the floor (FSR), against 32 % for the real dancers on the same songs. (The
decoder's own contact channels are no help: they stay near 0.) So in each frame where a foot joint
is on the floor (ankle or toe within its STANDING_HEIGHT, at this frame and the one before), the
one that moves least is the standing one, and the frame's travel is taken from it: the root moves
by minus that joint's horizontal motion relative to the root, and the joint stays where it is.
Frames with no foot on the floor (a jump) keep the decoded travel; heights are never touched.
Needs the dance on the floor (``floor.on_the_floor``) first.
"""

from __future__ import annotations

import torch

from dancemosaic import skeleton
from dancemosaic.motion import Motion

# Heights above the floor of a standing foot's joints (left ankle, left toe, right ankle, right toe):
# the ankle joint sits about 8 cm above the sole, the toe joint at it.
STANDING_HEIGHT = torch.tensor([0.10, 0.05, 0.10, 0.05])
MAX_STANCE_STEP = 0.08  # m per frame (2.4 m/s at 30 fps): a foot joint moving faster is not standing


def with_planted_feet(motion: Motion) -> Motion:
    """``motion`` whose floor travel keeps the standing foot joint still, frame by frame."""
    if motion.num_frames < 2:
        return motion
    joints = motion.joints()
    feet = joints[:, list(skeleton.FOOT_JOINTS)]  # (T, 4, 3)
    on_floor = feet[..., 1] < STANDING_HEIGHT.to(feet)  # (T, 4)
    standing = on_floor[1:] & on_floor[:-1]  # (T-1, 4)
    relative = (feet - joints[:, :1])[..., [0, 2]]  # (T, 4, 2) horizontal, relative to the root
    moved = relative[1:] - relative[:-1]  # (T-1, 4, 2)
    world = (feet[1:] - feet[:-1])[..., [0, 2]].norm(dim=-1)  # (T-1, 4) how far each slides now
    candidate = standing & (moved.norm(dim=-1) < MAX_STANCE_STEP)
    pick = world.masked_fill(~candidate, float("inf")).argmin(dim=-1)  # (T-1,) the stillest
    over_foot = -moved[torch.arange(len(pick)), pick]  # (T-1, 2)
    decoded = motion.root[1:, [0, 2]] - motion.root[:-1, [0, 2]]
    step = torch.where(candidate.any(dim=-1, keepdim=True), over_foot.to(decoded), decoded)
    root = motion.root.clone()
    root[1:, [0, 2]] = motion.root[:1, [0, 2]] + step.cumsum(0)
    return Motion(motion.rotations, root, motion.fps)
