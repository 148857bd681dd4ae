// The dancer as a solid, shaded mannequin built from joint positions alone: one capsule per bone,
// sized like that part of a body (thighs thicker than forearms, a torso wider than deep), and an
// ellipsoid head. It shows exactly the joints the model generated, with the volume that makes
// depth, overlap and facing readable (hairline skeletons do not). The dancer's left limbs are
// tinted blue, so a mirrored move reads at a glance.
//
// Kept joints (``setKept``) turn orange with their bones, and each wears a halo: an orange ring of
// a fixed size on screen, drawn over everything, so what an edit keeps is plain at any zoom and even
// behind the body. Over the user's SMPL body (``setDots(true)``) the capsules hide and each joint
// shrinks to a small see-through dot drawn through the body, so joints can still be clicked.
// A ghost figure (``{ghost: true}``) is the same shape in one see-through violet, casting no shadow.

import {
  BONE_RADII, DEFAULT_RADIUS, FIGURE_COLORS, HEAD, KNOB_SCALE, sideOf, WIDE_BONES,
} from "./proportions.js";
import * as THREE from "./vendor/three/three.module.js";

const DOT_RADIUS = 0.025; // joints over the SMPL body
const DOT_OPACITY = 0.45;
export const HALO_PX = 32; // a kept joint's ring, outer diameter in CSS pixels (about 4 px thick)

const UP = new THREE.Vector3(0, 1, 0);

export class Figure {
  /**
   * dance: {positions (Float32Array T*J*3), joints, names, parents}; the bone lengths are taken
   * from frame 0 (the skeleton is rigid, so they hold for every frame).
   */
  constructor(dance, { halos = true, ghost = false } = {}) {
    this.dance = dance;
    this.ghost = ghost;
    this.group = new THREE.Group();
    this.group.name = "figure";
    this.kept = new Set();
    this.dots = false;
    this.frame = -1;
    this.materials = ghost ? ghostMaterials() : makeMaterials();
    this.geometries = [];
    this.bones = this._buildBones();
    this.joints = this._buildJoints(); // one ball per joint: kept knobs, or the dots over a body
    this.head = this._buildHead();
    this.halos = halos && !ghost ? this._buildHalos() : [];
    this._applyLook();
    if (ghost) this.group.traverse((object) => (object.castShadow = false));
    this.pose(0);
  }

  _side(name) {
    return sideOf(name);
  }

  _buildBones() {
    const { names, parents } = this.dance;
    const bones = [];
    parents.forEach((parent, j) => {
      if (parent < 0) return;
      const length = this._distance(0, parent, j);
      if (length < 1e-4) return; // two joints in one place: nothing to draw
      const radius = BONE_RADII[names[j]] ?? DEFAULT_RADIUS;
      const geometry = new THREE.CapsuleGeometry(radius, length, 6, 14);
      this.geometries.push(geometry);
      const mesh = new THREE.Mesh(geometry, this.materials[this._side(names[j])]);
      mesh.castShadow = true;
      mesh.userData = { bone: [parent, j] };
      bones.push({ mesh, parent, child: j, length, radius, across: this._across(names[j]) });
      this.group.add(mesh);
    });
    return bones;
  }

  /** [left joint, right joint, widening] for a torso bone ending at ``name``, else null. */
  _across(name) {
    const wide = WIDE_BONES[name];
    if (!wide) return null;
    const [left, right] = wide.slice(0, 2).map((n) => this.dance.names.indexOf(n));
    return left >= 0 && right >= 0 ? [left, right, wide[2]] : null;
  }

  _buildJoints() {
    const sphere = new THREE.SphereGeometry(1, 20, 14);
    this.geometries.push(sphere);
    return this.dance.names.map((_, j) => {
      const touching = this.bones.filter((b) => b.parent === j || b.child === j);
      const thickest = Math.max(0, ...touching.map((b) => b.radius));
      const mesh = new THREE.Mesh(sphere, this.materials.kept);
      mesh.userData = { joint: j, knob: (thickest || DEFAULT_RADIUS) * KNOB_SCALE };
      this.group.add(mesh);
      return mesh;
    });
  }

  _buildHead() {
    const j = this.dance.names.indexOf(HEAD.name);
    if (j < 0) return null;
    const geometry = new THREE.SphereGeometry(1, 24, 18);
    this.geometries.push(geometry);
    const mesh = new THREE.Mesh(geometry, this.materials.torso);
    mesh.scale.set(...HEAD.radii);
    mesh.castShadow = true;
    mesh.userData = { joint: j };
    this.group.add(mesh);
    return { mesh, joint: j, neck: this.dance.parents[j] };
  }

  /** One ring sprite per joint, shown on kept joints (see HALO_PX and setHaloScale). */
  _buildHalos() {
    this.haloMaterial = new THREE.SpriteMaterial({
      map: ringTexture(), depthTest: false, depthWrite: false, sizeAttenuation: false, transparent: true,
    });
    return this.dance.names.map((_, j) => {
      const sprite = new THREE.Sprite(this.haloMaterial);
      sprite.renderOrder = 2; // after the body and the dots
      sprite.userData = { halo: j };
      this.group.add(sprite);
      return sprite;
    });
  }

  /**
   * Size the halos for a view: a sprite without size attenuation is ``scale`` units tall at one
   * unit from the camera, so ``2 tan(fov / 2) * HALO_PX / height`` is HALO_PX pixels at any depth.
   */
  setHaloScale(scale) {
    for (const sprite of this.halos) sprite.scale.set(scale, scale, 1);
  }

  _position(frame, j, out) {
    const d = this.dance;
    const i = (frame * d.joints + j) * 3;
    return out.set(d.positions[i], d.positions[i + 1], d.positions[i + 2]);
  }

  _distance(frame, i, j) {
    const a = this._position(frame, i, new THREE.Vector3());
    return a.distanceTo(this._position(frame, j, new THREE.Vector3()));
  }

  /** Move to ``frame`` (clamped to the dance). */
  pose(frame) {
    frame = Math.max(0, Math.min(this.dance.frames - 1, frame));
    if (frame === this.frame) return;
    this.frame = frame;
    const a = new THREE.Vector3();
    const b = new THREE.Vector3();
    this.joints.forEach((mesh, j) => this._position(frame, j, mesh.position));
    this.halos.forEach((sprite, j) => this._position(frame, j, sprite.position));
    for (const bone of this.bones) this._placeBone(bone, a, b);
    if (this.head) this._placeHead(a, b);
  }

  _placeBone(bone, a, b) {
    this._position(this.frame, bone.parent, a);
    this._position(this.frame, bone.child, b);
    const mesh = bone.mesh;
    mesh.position.addVectors(a, b).multiplyScalar(0.5);
    const axis = b.sub(a);
    const length = axis.length();
    if (length < 1e-6) return;
    axis.divideScalar(length);
    mesh.scale.set(1, length / bone.length, 1); // the rigid skeleton: 1 within int16 rounding
    if (!bone.across || !this._orientAcross(mesh, axis, bone.across)) {
      mesh.quaternion.setFromUnitVectors(UP, axis);
    }
  }

  /** Turn a torso capsule so its x axis lies along ``across`` joints, and widen it there. */
  _orientAcross(mesh, axis, [left, right, widen]) {
    const x = this._position(this.frame, left, new THREE.Vector3());
    x.sub(this._position(this.frame, right, new THREE.Vector3()));
    x.addScaledVector(axis, -x.dot(axis));
    if (x.lengthSq() < 1e-8) return false;
    x.normalize();
    const z = new THREE.Vector3().crossVectors(x, axis);
    mesh.quaternion.setFromRotationMatrix(new THREE.Matrix4().makeBasis(x, axis, z));
    mesh.scale.x = widen;
    return true;
  }

  _placeHead(a, b) {
    const { mesh, joint, neck } = this.head;
    this._position(this.frame, joint, a);
    const up = neck >= 0 ? a.clone().sub(this._position(this.frame, neck, b)).normalize() : UP.clone();
    mesh.quaternion.setFromUnitVectors(UP, up);
    mesh.position.copy(a).addScaledVector(up, HEAD.lift);
  }

  setKept(indices) {
    this.kept = new Set(indices);
    this._applyLook();
  }

  /** Dots over the SMPL body (true) or the solid mannequin (false). */
  setDots(on) {
    this.dots = on;
    this._applyLook();
  }

  _applyLook() {
    const m = this.materials;
    for (const bone of this.bones) {
      bone.mesh.visible = !this.dots;
      const kept = this.kept.has(bone.parent) && this.kept.has(bone.child);
      bone.mesh.material = kept ? m.keptBone : m[this._side(this.dance.names[bone.child])];
    }
    if (this.head) {
      this.head.mesh.visible = !this.dots;
      this.head.mesh.material = this.kept.has(this.head.joint) ? m.keptBone : m.torso;
    }
    this.joints.forEach((mesh, j) => {
      const kept = this.kept.has(j);
      // Solid: only kept joints show a ball (the capsules' round ends are the joints). Dots: all.
      mesh.visible = this.dots || (kept && !(this.head && this.head.joint === j));
      mesh.scale.setScalar(this.dots ? DOT_RADIUS : mesh.userData.knob);
      mesh.material = this.dots ? (kept ? m.dotKept : m.dot) : m.kept;
      mesh.renderOrder = this.dots ? 1 : 0;
      mesh.castShadow = !this.dots && !this.ghost;
    });
    this.halos.forEach((sprite, j) => (sprite.visible = this.kept.has(j)));
  }

  /** The meshes a click can land on (the visible ones). */
  pickables() {
    const all = [...this.bones.map((b) => b.mesh), ...this.joints, ...(this.head ? [this.head.mesh] : [])];
    return all.filter((mesh) => mesh.visible);
  }

  /** The joint a ray hit stands for: a ball's or the head's joint, or a bone's nearer end. */
  jointOfHit(hit) {
    const data = hit.object.userData;
    if (data.joint !== undefined) return data.joint;
    const [parent, child] = data.bone;
    const p = this._position(this.frame, parent, new THREE.Vector3());
    const c = this._position(this.frame, child, new THREE.Vector3());
    return hit.point.distanceTo(p) < hit.point.distanceTo(c) ? parent : child;
  }

  dispose() {
    this.group.removeFromParent();
    this.geometries.forEach((g) => g.dispose());
    new Set(Object.values(this.materials)).forEach((m) => m.dispose()); // a ghost's roles share one
    if (this.haloMaterial) this.haloMaterial.dispose(); // the ring texture is shared: kept
  }
}

/**
 * Every part of a ghost in one see-through material, drawn after the opaque dancer. Its depth is
 * pushed back a little, so where the two poses agree (the same capsule in the same place) the
 * dancer shows as itself instead of tinted; only where they differ does the ghost show.
 */
function ghostMaterials() {
  const ghost = new THREE.MeshStandardMaterial({
    color: FIGURE_COLORS.ghost, roughness: 0.6, transparent: true, opacity: 0.4, depthWrite: false,
    polygonOffset: true, polygonOffsetFactor: 2, polygonOffsetUnits: 8,
  });
  return Object.fromEntries(MATERIAL_ROLES.map((role) => [role, ghost]));
}

let ring = null;

/** The halo: an orange ring with a white rim, so it reads on the body, the floor and the shadow. */
function ringTexture() {
  if (ring) return ring;
  const size = 128;
  const canvas = Object.assign(document.createElement("canvas"), { width: size, height: size });
  const ctx = canvas.getContext("2d");
  const circle = (radius, width, color) => {
    ctx.beginPath();
    ctx.arc(size / 2, size / 2, radius, 0, 2 * Math.PI);
    ctx.lineWidth = width;
    ctx.strokeStyle = color;
    ctx.stroke();
  };
  circle(size / 2 - 14, 25, "rgba(255, 255, 255, 0.9)");
  circle(size / 2 - 14, 16, "#f97316");
  ring = new THREE.CanvasTexture(canvas);
  ring.colorSpace = THREE.SRGBColorSpace;
  return ring;
}

const MATERIAL_ROLES = ["torso", "left", "right", "kept", "keptBone", "dot", "dotKept"];

function makeMaterials() {
  const solid = (color) => new THREE.MeshStandardMaterial({ color, roughness: 0.55, metalness: 0.05 });
  // Dots are drawn through the body (the joints are inside it), after it, half transparent.
  const dot = (color, opacity) =>
    new THREE.MeshStandardMaterial({ color, roughness: 0.6, transparent: true, opacity, depthTest: false });
  return {
    torso: solid(FIGURE_COLORS.torso),
    left: solid(FIGURE_COLORS.left),
    right: solid(FIGURE_COLORS.right),
    kept: solid(FIGURE_COLORS.kept),
    keptBone: solid(FIGURE_COLORS.kept),
    dot: dot(FIGURE_COLORS.joint, DOT_OPACITY),
    dotKept: dot(FIGURE_COLORS.kept, 0.9),
  };
}
