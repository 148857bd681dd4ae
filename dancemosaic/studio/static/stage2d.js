// The fallback view for browsers without WebGL 2: the dancer on a 2D canvas, seen from the front
// (x right, y up), the side (the dancer's left: -z right) or the top (x right, the dancer's front
// down). Same interface as Stage3D, so the player, clock and timeline do not care which is shown.
//
// The dancer is the 3D view's mannequin (proportions.js), drawn flat: each bone a capsule of its
// body-part thickness, shaded across as a cylinder lit from the upper left and outlined, the torso
// as wide as the hips and shoulders seen from this side, an ellipse for the head; far parts first,
// so near limbs cover far ones, and far ones a little paler. Left limbs are tinted blue as in 3D.

import { listenForJointClicks } from "./picking.js";
import {
  BONE_RADII, DEFAULT_RADIUS, FIGURE_COLORS, HEAD, KNOB_SCALE, sideOf, WIDE_BONES,
} from "./proportions.js";

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
const GHOST_OPACITY = 0.45; // another version or variation, drawn see-through under the dancer
const LIGHT = [-0.6, -0.8]; // where the light comes from on screen (unit vector): the upper left
const FAR_FADE = 0.2; // parts behind the pelvis are mixed this much towards the background
const MIN_RADIUS_PX = 2; // a limb never thinner than this, however small the canvas

const COLORS = {
  background: "#f4f4f5",
  floor: "#a1a1aa",
  kept: "#f97316",
};
const BACKGROUND_RGB = [0xf4, 0xf4, 0xf5];

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

  /** The ghost at the shown frame: the same solid figure in flat violet, laid over see-through
  (drawn whole on a canvas of its own first, so its overlapping parts do not add up darker). */
  _drawGhost(ctx) {
    const g = this.ghost;
    if (!g || this.frame >= g.frames) return;
    const layer = this._ghostLayer();
    layer.ctx.clearRect(0, 0, this.width, this.height);
    const points = g.names.map((_, j) => {
      const i = (this.frame * g.joints + j) * 3;
      return [g.positions[i] + this.ghostOffset, g.positions[i + 1], g.positions[i + 2]];
    });
    this._drawFigure(layer.ctx, g, points, () => FIGURE_COLORS.ghost, { shaded: false });
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalAlpha = GHOST_OPACITY;
    ctx.drawImage(layer.canvas, 0, 0);
    ctx.restore();
  }

  _ghostLayer() {
    const [w, h] = [this.canvas.width, this.canvas.height];
    if (!this.layer || this.layer.canvas.width !== w || this.layer.canvas.height !== h) {
      const canvas = Object.assign(document.createElement("canvas"), { width: w, height: h });
      const ctx = canvas.getContext("2d");
      ctx.setTransform(w / this.width, 0, 0, h / this.height, 0, 0);
      this.layer = { canvas, ctx };
    }
    return this.layer;
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
    if (this.dance) this._drawDancer(ctx);
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

  _drawDancer(ctx) {
    const d = this.dance;
    const points = d.names.map((_, j) => this._joint(j));
    const depth = VIEWS[this.view].depth;
    const pelvisDepth = depth(points[0]);
    const color = (part, z) => {
      const kept = part.joints.every((j) => this.kept.has(j));
      const base = kept ? FIGURE_COLORS.kept : FIGURE_COLORS[sideOf(d.names[part.joints.at(-1)])];
      return z < pelvisDepth - 0.05 && !kept ? mix(base, BACKGROUND_RGB, FAR_FADE) : base;
    };
    this._drawFigure(ctx, d, points, color, { shaded: true });
    // A kept joint shows a ball, as in 3D (the capsules' round ends are the others), then its ring.
    for (const j of this.kept) {
      if (!points[j] || d.names[j] === HEAD.name) continue;
      const radius = this._knobRadius(d, j) * this.fit.scale;
      this._ball(ctx, this._project(points[j]), radius, radius, 0, FIGURE_COLORS.kept, true);
    }
    for (const j of this.kept) if (points[j]) this._drawHalo(ctx, ...this._project(points[j]));
  }

  _knobRadius(d, j) {
    const touching = d.parents.flatMap((parent, child) =>
      parent === j || child === j ? [BONE_RADII[d.names[child]] ?? DEFAULT_RADIUS] : [],
    );
    return Math.max(DEFAULT_RADIUS, ...touching) * KNOB_SCALE;
  }

  /**
   * The mannequin of ``d`` posed at ``points`` (world positions): its bones and head sorted far to
   * near; ``color(part, depth)`` gives each part's colour (a 0xRRGGBB number).
   */
  _drawFigure(ctx, d, points, color, { shaded }) {
    const depth = VIEWS[this.view].depth;
    const parts = [];
    d.parents.forEach((parent, child) => {
      if (parent < 0) return;
      const z = (depth(points[parent]) + depth(points[child])) / 2;
      parts.push({ joints: [parent, child], z });
    });
    const head = d.names.indexOf(HEAD.name);
    if (head >= 0) parts.push({ joints: [head], z: depth(points[head]), head: true });
    parts.sort((a, b) => a.z - b.z);
    for (const part of parts) {
      const c = color(part, part.z);
      if (part.head) this._drawHead(ctx, d, points, head, c, shaded);
      else this._drawBone(ctx, d, points, part.joints, c, shaded);
    }
  }

  _drawBone(ctx, d, points, [parent, child], color, shaded) {
    const name = d.names[child];
    const a = this._project(points[parent]);
    const b = this._project(points[child]);
    let radius = (BONE_RADII[name] ?? DEFAULT_RADIUS) * this.fit.scale;
    const wide = WIDE_BONES[name];
    if (wide) radius *= this._widening(d, points, a, b, wide);
    this._capsule(ctx, a, b, Math.max(MIN_RADIUS_PX, radius), color, shaded);
  }

  /** How much wider than deep a torso bone looks from this side: its full widening when the
  line between its two side joints (hips, collars) lies across it on screen, none end-on. */
  _widening(d, points, a, b, [leftName, rightName, widen]) {
    const [left, right] = [d.names.indexOf(leftName), d.names.indexOf(rightName)];
    if (left < 0 || right < 0) return 1;
    const [l, r] = [this._project(points[left]), this._project(points[right])];
    const across = Math.hypot(...points[left].map((x, k) => x - points[right][k])) * this.fit.scale;
    const length = Math.hypot(b[0] - a[0], b[1] - a[1]);
    if (across < 1e-6) return 1;
    // the part of the projected left-right line perpendicular to the bone on screen
    const normal = length > 1e-6 ? [-(b[1] - a[1]) / length, (b[0] - a[0]) / length] : [1, 0];
    const shown = Math.abs((l[0] - r[0]) * normal[0] + (l[1] - r[1]) * normal[1]);
    return 1 + (widen - 1) * Math.min(1, shown / across);
  }

  /** A capsule from ``a`` to ``b`` (CSS pixels): outlined, and shaded across like a lit cylinder. */
  _capsule(ctx, a, b, radius, color, shaded) {
    const length = Math.hypot(b[0] - a[0], b[1] - a[1]);
    let normal = length > 1e-6 ? [-(b[1] - a[1]) / length, (b[0] - a[0]) / length] : LIGHT;
    if (normal[0] * LIGHT[0] + normal[1] * LIGHT[1] < 0) normal = [-normal[0], -normal[1]];
    ctx.lineCap = "round";
    ctx.beginPath();
    ctx.moveTo(...a);
    ctx.lineTo(...b);
    if (shaded) {
      ctx.lineWidth = 2 * radius + 2;
      ctx.strokeStyle = css(shade(color, -0.45));
      ctx.stroke();
      const [mx, my] = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
      const [nx, ny] = [normal[0] * radius, normal[1] * radius];
      ctx.strokeStyle = litAcross(ctx, [mx + nx, my + ny], [mx - nx, my - ny], color);
    } else {
      ctx.strokeStyle = css(color);
    }
    ctx.lineWidth = 2 * radius;
    ctx.stroke();
  }

  /** The head: an ellipse raised along the neck and turned with it. */
  _drawHead(ctx, d, points, head, color, shaded) {
    const neck = d.parents[head];
    const p = points[head];
    let up = [0, 1, 0];
    if (neck >= 0) {
      const v = p.map((x, k) => x - points[neck][k]);
      const n = Math.hypot(...v);
      if (n > 1e-6) up = v.map((x) => x / n);
    }
    const centre = this._project(p.map((x, k) => x + up[k] * HEAD.lift));
    const top = this._project(p.map((x, k) => x + up[k] * (HEAD.lift + 1)));
    const angle = Math.atan2(top[0] - centre[0], -(top[1] - centre[1])); // 0: upright on screen
    const depthRadius = this.view === "top" ? HEAD.radii[2] : HEAD.radii[1];
    const s = this.fit.scale;
    this._ball(ctx, centre, HEAD.radii[0] * s, depthRadius * s, angle, color, shaded);
  }

  /** A filled ellipse (radii ``rx``, ``ry`` px, turned by ``angle``), shaded as a lit ball. */
  _ball(ctx, [x, y], rx, ry, angle, color, shaded) {
    ctx.beginPath();
    ctx.ellipse(x, y, Math.max(MIN_RADIUS_PX, rx), Math.max(MIN_RADIUS_PX, ry), angle, 0, 2 * Math.PI);
    if (shaded) {
      const r = Math.max(rx, ry);
      const light = [x + LIGHT[0] * r * 0.45, y + LIGHT[1] * r * 0.45];
      const fill = ctx.createRadialGradient(...light, r * 0.1, x, y, r * 1.05);
      fill.addColorStop(0, css(shade(color, 0.4)));
      fill.addColorStop(0.6, css(color));
      fill.addColorStop(1, css(shade(color, -0.3)));
      ctx.fillStyle = fill;
      ctx.lineWidth = 1;
      ctx.strokeStyle = css(shade(color, -0.45));
      ctx.fill();
      ctx.stroke();
    } else {
      ctx.fillStyle = css(color);
      ctx.fill();
    }
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

/** 0xRRGGBB -> [r, g, b]. */
function rgb(color) {
  return Array.isArray(color) ? color : [(color >> 16) & 255, (color >> 8) & 255, color & 255];
}

function css(color) {
  const [r, g, b] = rgb(color).map((c) => Math.round(Math.max(0, Math.min(255, c))));
  return `rgb(${r}, ${g}, ${b})`;
}

/** ``color`` mixed ``amount`` of the way to ``other`` ([r, g, b]). */
function mix(color, other, amount) {
  return rgb(color).map((c, k) => c + (other[k] - c) * amount);
}

/** Lighter (towards white, ``amount`` > 0) or darker (towards black, < 0). */
function shade(color, amount) {
  return amount >= 0 ? mix(color, [255, 255, 255], amount) : mix(color, [0, 0, 0], -amount);
}

/** A gradient across a limb, from its lit edge ``lit`` to its shadowed edge ``dark``. */
function litAcross(ctx, lit, dark, color) {
  const gradient = ctx.createLinearGradient(...lit, ...dark);
  gradient.addColorStop(0, css(shade(color, 0.15)));
  gradient.addColorStop(0.3, css(shade(color, 0.4)));
  gradient.addColorStop(0.7, css(color));
  gradient.addColorStop(1, css(shade(color, -0.35)));
  return gradient;
}
