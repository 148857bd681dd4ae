// The fallback view for browsers without WebGL 2: the skeleton on a 2D canvas, seen from the front
// (x right, y up), the side (the dancer's left: -z right) or the top (x right, the dancer's front
// down). Same interface as Stage3D, so the player, clock and timeline do not care which is shown.

import { listenForJointClicks } from "./picking.js";

const PICK_RADIUS = 10; // px: a click this close to a joint's centre picks it
const HALO_RADIUS = 13; // px: the ring around a kept joint (as the 3D view's)
const MARGIN = 0.15; // metres of space kept above the head and below the floor
const TICK_SPACING = 0.5; // metres between the floor's tick marks, which show travel
const TOP_SPAN = 2.4; // metres shown top to bottom at least, seen from above (a body's height, as the others)

// Each view: screen axes (right, up) and the depth towards the viewer, as functions of [x, y, z].
const VIEWS = {
  front: { h: (p) => p[0], v: (p) => p[1], depth: (p) => p[2], floor: true },
  side: { h: (p) => -p[2], v: (p) => p[1], depth: (p) => p[0], floor: true },
  top: { h: (p) => p[0], v: (p) => -p[2], depth: (p) => p[1], floor: false },
};

const GHOST_BESIDE = 1.0; // metres along +x, as the 3D view

const COLORS = {
  ghost: "rgba(139, 92, 246, 0.45)", // another version or variation, drawn under the dancer
  background: "#f4f4f5",
  floor: "#a1a1aa",
  bone: "#64748b",
  boneFar: "#94a3b8",
  joint: "#334155",
  kept: "#f97316",
  keptBone: "#fdba74",
};

export class Stage2D {
  constructor(container, { onPick }) {
    this.webgl = false;
    this.onPick = onPick;
    this.canvas = document.createElement("canvas");
    this.canvas.className = "dm-canvas";
    container.appendChild(this.canvas);
    this.ctx = this.canvas.getContext("2d");
    this.width = 0;
    this.height = 0;
    this.dance = null;
    this.frame = 0;
    this.kept = new Set();
    this.ghost = null;
    this.ghostOffset = 0;
    this.fit = { scale: 1, centerX: 0, fixedCenter: true, top: 2 };
    this.views = Object.keys(VIEWS);
    this.view = "front";
    this.onViewChange = () => {};
    this.dirty = true;
    this._handlers = listenForJointClicks(this);
  }

  setDance(dance) {
    this.dance = dance;
    this.frame = -1;
    this._fitView();
    this.showFrame(0);
  }

  setView(name) {
    if (!(name in VIEWS)) throw new Error(`unknown view ${name}; use one of ${this.views.join(", ")}`);
    this.view = name;
    this._fitView();
  }

  /** Scale so the whole dance's height fits; keep it fixed sideways if its whole travel fits, else follow. */
  _fitView() {
    const d = this.dance;
    if (!d || this.height === 0) return;
    const { h, v, floor } = VIEWS[this.view];
    let [hMin, hMax, vMin, vMax] = [Infinity, -Infinity, Infinity, -Infinity];
    for (let i = 0; i < d.positions.length; i += 3) {
      const p = [d.positions[i], d.positions[i + 1], d.positions[i + 2]];
      [hMin, hMax] = [Math.min(hMin, h(p)), Math.max(hMax, h(p))];
      [vMin, vMax] = [Math.min(vMin, v(p)), Math.max(vMax, v(p))];
    }
    let [bottom, top] = [(floor ? Math.min(0, d.floorY) : vMin) - MARGIN, vMax + MARGIN];
    if (!floor && top - bottom < TOP_SPAN) [bottom, top] = [(vMin + vMax - TOP_SPAN) / 2, (vMin + vMax + TOP_SPAN) / 2];
    const scale = this.height / (top - bottom);
    const fits = (hMax - hMin + 2 * MARGIN) * scale <= this.width;
    this.fit = { scale, top, centerX: (hMin + hMax) / 2, fixedCenter: fits };
    this.dirty = true;
  }

  showFrame(frame) {
    if (!this.dance || frame === this.frame) return;
    this.frame = frame;
    if (!this.fit.fixedCenter) this.fit.centerX = VIEWS[this.view].h(this._joint(0));
    this.dirty = true;
  }

  setHighlighted(indices) {
    this.kept = new Set(indices);
    this.dirty = true;
  }

  setFollow() {} // the 2D view follows on its own when the dancer travels out of frame

  setGhost(dance) {
    this.ghost = dance;
    this.dirty = true;
  }

  setGhostBeside(on) {
    this.ghostOffset = on ? GHOST_BESIDE : 0;
    this.dirty = true;
  }

  /** The ghost's bones at the shown frame, see-through violet (nothing past its end). */
  _drawGhost(ctx) {
    const g = this.ghost;
    if (!g || this.frame >= g.frames) return;
    const point = (j) => {
      const i = (this.frame * g.joints + j) * 3;
      return this._project([g.positions[i] + this.ghostOffset, g.positions[i + 1], g.positions[i + 2]]);
    };
    ctx.lineCap = "round";
    ctx.lineWidth = Math.max(3, 0.045 * this.fit.scale);
    ctx.strokeStyle = COLORS.ghost;
    g.parents.forEach((parent, child) => {
      if (parent < 0) return;
      ctx.beginPath();
      ctx.moveTo(...point(parent));
      ctx.lineTo(...point(child));
      ctx.stroke();
    });
  }

  _joint(j) {
    const d = this.dance;
    const i = (this.frame * d.joints + j) * 3;
    return [d.positions[i], d.positions[i + 1], d.positions[i + 2]];
  }

  /** Screen axes (h right, v up, metres) -> canvas CSS pixels. */
  _toScreen(h, v) {
    const f = this.fit;
    return [this.width / 2 + (h - f.centerX) * f.scale, (f.top - v) * f.scale];
  }

  /** A world point [x, y, z] -> canvas CSS pixels in the current view. */
  _project(p) {
    const { h, v } = VIEWS[this.view];
    return this._toScreen(h(p), v(p));
  }

  tick() {
    if (!this.dirty || this.width === 0) return;
    this.dirty = false;
    const ctx = this.ctx;
    ctx.fillStyle = COLORS.background;
    ctx.fillRect(0, 0, this.width, this.height);
    this._drawFloor(ctx);
    if (this.dance) this._drawGhost(ctx);
    if (this.dance) this._drawSkeleton(ctx);
  }

  _drawFloor(ctx) {
    if (!VIEWS[this.view].floor) return; // seen from the top, the floor is the whole background
    const [, floorY] = this._toScreen(0, 0);
    ctx.fillStyle = COLORS.floor;
    ctx.fillRect(0, Math.round(floorY), this.width, 1);
    const halfSpan = this.width / 2 / this.fit.scale;
    const first = Math.ceil((this.fit.centerX - halfSpan) / TICK_SPACING) * TICK_SPACING;
    for (let x = first; x <= this.fit.centerX + halfSpan; x += TICK_SPACING) {
      ctx.fillRect(Math.round(this._toScreen(x, 0)[0]), Math.round(floorY), 1, 6);
    }
  }

  _drawSkeleton(ctx) {
    const d = this.dance;
    const points = d.names.map((_, j) => this._joint(j));
    const depth = VIEWS[this.view].depth;
    const pelvisDepth = depth(points[0]);
    // Far bones first, so near limbs are drawn over far ones.
    const bones = d.parents
      .map((parent, child) => ({ parent, child }))
      .filter((b) => b.parent >= 0)
      .map((b) => ({ ...b, depth: (depth(points[b.child]) + depth(points[b.parent])) / 2 }))
      .sort((a, b) => a.depth - b.depth);
    ctx.lineCap = "round";
    ctx.lineWidth = Math.max(3, 0.045 * this.fit.scale);
    for (const { parent, child, depth: z } of bones) {
      const kept = this.kept.has(parent) && this.kept.has(child);
      ctx.strokeStyle = kept ? COLORS.keptBone : z < pelvisDepth ? COLORS.boneFar : COLORS.bone;
      ctx.beginPath();
      ctx.moveTo(...this._project(points[parent]));
      ctx.lineTo(...this._project(points[child]));
      ctx.stroke();
    }
    const radius = Math.max(3, 0.035 * this.fit.scale);
    points.forEach((p, j) => {
      ctx.fillStyle = this.kept.has(j) ? COLORS.kept : COLORS.joint;
      ctx.beginPath();
      ctx.arc(...this._project(p), d.names[j] === "head" ? radius * 2.4 : radius, 0, 2 * Math.PI);
      ctx.fill();
    });
    for (const j of this.kept) if (points[j]) this._drawHalo(ctx, ...this._project(points[j]));
  }

  /** An orange ring with a white rim around a kept joint, so it reads at any size. */
  _drawHalo(ctx, x, y) {
    for (const [width, color] of [[6, "rgba(255, 255, 255, 0.9)"], [3.5, COLORS.kept]]) {
      ctx.beginPath();
      ctx.arc(x, y, HALO_RADIUS, 0, 2 * Math.PI);
      ctx.lineWidth = width;
      ctx.strokeStyle = color;
      ctx.stroke();
    }
  }

  resize(width, height) {
    if (width === 0 || height === 0) return;
    const ratio = window.devicePixelRatio || 1;
    this.width = width;
    this.height = height;
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(height * ratio);
    this.ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    this._fitView();
    this.dirty = true;
  }

  jointScreenPosition(j) {
    const rect = this.canvas.getBoundingClientRect();
    const [x, y] = this._project(this._joint(j));
    return { x: rect.left + x, y: rect.top + y };
  }

  /** The joint nearest to (clientX, clientY) within PICK_RADIUS pixels, or null. */
  _pick(clientX, clientY) {
    if (!this.dance) return null;
    let best = null;
    let bestDistance = PICK_RADIUS;
    for (let j = 0; j < this.dance.joints; j++) {
      const p = this.jointScreenPosition(j);
      const d = Math.hypot(p.x - clientX, p.y - clientY);
      if (d < bestDistance) [best, bestDistance] = [j, d];
    }
    return best;
  }

  dispose() {
    for (const [name, handler] of Object.entries(this._handlers)) {
      this.canvas.removeEventListener(name, handler);
    }
    this.canvas.remove();
  }
}
