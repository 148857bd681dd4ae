// The fallback view for browsers without WebGL 2: the skeleton seen from the front (x right, y up) on a
// 2D canvas. Same interface as Stage3D, so the player, clock and timeline do not care which is shown.

import { listenForJointClicks } from "./picking.js";

const PICK_RADIUS = 10; // px: a click this close to a joint's centre picks it
const HALO_RADIUS = 13; // px: the ring around a kept joint (as the 3D view's)
const MARGIN = 0.15; // metres of space kept above the head and below the floor
const TICK_SPACING = 0.5; // metres between the floor's tick marks, which show travel

const COLORS = {
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
    this.view = { scale: 1, centerX: 0, fixedCenter: true, top: 2 };
    this.dirty = true;
    this._handlers = listenForJointClicks(this);
  }

  setDance(dance) {
    this.dance = dance;
    this.frame = -1;
    this._fitView();
    this.showFrame(0);
  }

  /** Scale so the whole dance's height fits; keep x fixed if its whole travel fits, else follow. */
  _fitView() {
    const d = this.dance;
    if (!d || this.height === 0) return;
    let [xMin, xMax, yMax] = [Infinity, -Infinity, -Infinity];
    for (let i = 0; i < d.positions.length; i += 3) {
      xMin = Math.min(xMin, d.positions[i]);
      xMax = Math.max(xMax, d.positions[i]);
      yMax = Math.max(yMax, d.positions[i + 1]);
    }
    const bottom = Math.min(0, d.floorY) - MARGIN;
    const top = yMax + MARGIN;
    const scale = this.height / (top - bottom);
    const fits = (xMax - xMin + 2 * MARGIN) * scale <= this.width;
    this.view = { scale, top, centerX: (xMin + xMax) / 2, fixedCenter: fits };
    this.dirty = true;
  }

  showFrame(frame) {
    if (!this.dance || frame === this.frame) return;
    this.frame = frame;
    if (!this.view.fixedCenter) this.view.centerX = this._joint(0)[0];
    this.dirty = true;
  }

  setHighlighted(indices) {
    this.kept = new Set(indices);
    this.dirty = true;
  }

  setFollow() {} // the 2D view follows on its own when the dancer travels out of frame

  _joint(j) {
    const d = this.dance;
    const i = (this.frame * d.joints + j) * 3;
    return [d.positions[i], d.positions[i + 1], d.positions[i + 2]];
  }

  /** World (x, y) -> canvas CSS pixels. */
  _toScreen(x, y) {
    const v = this.view;
    return [this.width / 2 + (x - v.centerX) * v.scale, (v.top - y) * v.scale];
  }

  tick() {
    if (!this.dirty || this.width === 0) return;
    this.dirty = false;
    const ctx = this.ctx;
    ctx.fillStyle = COLORS.background;
    ctx.fillRect(0, 0, this.width, this.height);
    this._drawFloor(ctx);
    if (this.dance) this._drawSkeleton(ctx);
  }

  _drawFloor(ctx) {
    const [, floorY] = this._toScreen(0, 0);
    ctx.fillStyle = COLORS.floor;
    ctx.fillRect(0, Math.round(floorY), this.width, 1);
    const halfSpan = this.width / 2 / this.view.scale;
    const first = Math.ceil((this.view.centerX - halfSpan) / TICK_SPACING) * TICK_SPACING;
    for (let x = first; x <= this.view.centerX + halfSpan; x += TICK_SPACING) {
      ctx.fillRect(Math.round(this._toScreen(x, 0)[0]), Math.round(floorY), 1, 6);
    }
  }

  _drawSkeleton(ctx) {
    const d = this.dance;
    const points = d.names.map((_, j) => this._joint(j));
    const pelvisZ = points[0][2];
    // Far bones first (the viewer looks from +z), so near limbs are drawn over far ones.
    const bones = d.parents
      .map((parent, child) => ({ parent, child, z: (points[child][2] + (points[parent]?.[2] ?? 0)) / 2 }))
      .filter((b) => b.parent >= 0)
      .sort((a, b) => a.z - b.z);
    ctx.lineCap = "round";
    ctx.lineWidth = Math.max(3, 0.045 * this.view.scale);
    for (const { parent, child, z } of bones) {
      const kept = this.kept.has(parent) && this.kept.has(child);
      ctx.strokeStyle = kept ? COLORS.keptBone : z < pelvisZ ? COLORS.boneFar : COLORS.bone;
      ctx.beginPath();
      ctx.moveTo(...this._toScreen(points[parent][0], points[parent][1]));
      ctx.lineTo(...this._toScreen(points[child][0], points[child][1]));
      ctx.stroke();
    }
    const radius = Math.max(3, 0.035 * this.view.scale);
    points.forEach(([x, y], j) => {
      ctx.fillStyle = this.kept.has(j) ? COLORS.kept : COLORS.joint;
      ctx.beginPath();
      ctx.arc(...this._toScreen(x, y), d.names[j] === "head" ? radius * 2.4 : radius, 0, 2 * Math.PI);
      ctx.fill();
    });
    for (const j of this.kept) if (points[j]) this._drawHalo(ctx, ...this._toScreen(points[j][0], points[j][1]));
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
    const [x, y] = this._toScreen(...this._joint(j));
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
