// The mannequin's proportions and colours, shared by the 3D figure (figure.js, three.js capsules)
// and the 2D fallback (stage2d.js, shaded strokes on a canvas), so both draw the same body.

// Capsule radius (m) of the bone from a joint's parent to the joint, by the joint's SMPL name.
export const BONE_RADII = {
  left_hip: 0.075, right_hip: 0.075, spine1: 0.1, spine2: 0.1, spine3: 0.105, neck: 0.05,
  left_knee: 0.068, right_knee: 0.068, left_ankle: 0.05, right_ankle: 0.05,
  left_foot: 0.04, right_foot: 0.04, left_collar: 0.06, right_collar: 0.06, head: 0.05,
  left_shoulder: 0.055, right_shoulder: 0.055, left_elbow: 0.045, right_elbow: 0.045,
  left_wrist: 0.037, right_wrist: 0.037, left_hand: 0.032, right_hand: 0.032,
};
export const DEFAULT_RADIUS = 0.04; // bones of a skeleton with other names
// Torso bones are wider than deep: their capsule is stretched along the line between two joints.
export const WIDE_BONES = {
  spine1: ["left_hip", "right_hip", 1.45],
  spine2: ["left_collar", "right_collar", 1.4],
  spine3: ["left_collar", "right_collar", 1.55],
};
// The head: an ellipsoid (radii across, up, deep), raised along the neck.
export const HEAD = { name: "head", radii: [0.085, 0.105, 0.095], lift: 0.07 };
export const KNOB_SCALE = 1.2; // a kept joint's ball is this much wider than its thickest bone, so it shows

export const FIGURE_COLORS = {
  ghost: 0x8b5cf6, // a see-through violet: another version or variation, drawn to compare
  torso: 0x9ca3af,
  left: 0x6f8fc7, // the dancer's left limbs, tinted blue so a mirrored move reads at a glance
  right: 0xaab2bd,
  kept: 0xf97316,
  joint: 0x334155, // the dots over the SMPL body
};

/** "left", "right" or "torso": which colour the bone ending at joint ``name`` wears. */
export function sideOf(name) {
  if (name.startsWith("left_")) return "left";
  if (name.startsWith("right_")) return "right";
  return "torso";
}
