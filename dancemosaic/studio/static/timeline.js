// The timeline strip under the view: the dance's duration left to right, with the segments and their
// prompts, the last edit's blend zones (where its new motion joins the old), the music's beat grid,
// the selected ranges and a playhead. A click seeks; a drag selects a
// range (shift + drag adds one). Drawn on a canvas because it repaints every animation frame.

import { formatTime, normalizeRanges } from "./payload.js";
import { CLICK_SLOP } from "./picking.js";

const HEIGHT = 64; // CSS pixels; viewer.css gives the canvas the same height
const PAD = 8; // horizontal inset so the playhead stays visible at 0 and at the end
const SEGMENT_BAND = [0, 22]; // y range of the segment blocks and their prompts
const BLEND_BAND = [18, 22]; // y range of the blend-zone marks, along the segments' lower edge
const BEAT_BAND = [22, 46]; // y range of the beat ticks
const LABEL_Y = 56; // baseline of the m:ss.s labels

const COLORS = {
  background: "#fafafa",
  segments: ["#e4e4e7", "#f4f4f5"],
  segmentText: "#3f3f46",
  blend: "#7c3aed",
  beat: "#a1a1aa",
  selection: "rgba(249, 115, 22, 0.22)",
  selectionEdge: "rgba(234, 88, 12, 0.9)",
  dragging: "rgba(249, 115, 22, 0.35)",
  playhead: "#dc2626",
  label: "#52525b",
  border: "#d4d4d8",
};

export class Timeline {
  /** container: element to draw into; onSeek(seconds), onSelect(ranges) are called on user input. */
  constructor(container, { onSeek, onSelect }) {
    this.onSeek = onSeek;
    this.onSelect = onSelect;
    this.canvas = document.createElement("canvas");
    this.canvas.className = "dm-timeline";
    container.appendChild(this.canvas);
    this.ctx = this.canvas.getContext("2d");
    this.dance = { duration: 1, beats: [], segments: [], blends: [] };
    this.ranges = [];
    this.press = null; // {x, y, shift, dragging} while a pointer is down
    this.drawnTime = null; // skip repainting when nothing moved
    this.width = 0;
    this._listen();
  }

  setDance({ duration, beats, segments, blends = [] }) {
    this.dance = { duration, beats, segments, blends };
    this.invalidate();
  }

  setSelection(ranges) {
    this.ranges = normalizeRanges(ranges, this.dance.duration);
    this.invalidate();
  }

  selection() {
    return this.ranges.map((r) => r.slice());
  }

  invalidate() {
    this.drawnTime = null;
  }

  /** Match the canvas's backing store to its CSS size (sharp on high-DPI screens). */
  resize() {
    const ratio = window.devicePixelRatio || 1;
    this.width = this.canvas.clientWidth;
    this.canvas.width = Math.max(1, Math.round(this.width * ratio));
    this.canvas.height = Math.round(HEIGHT * ratio);
    this.ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    this.invalidate();
  }

  /** Seconds -> x in CSS pixels, and back. */
  xOf(seconds) {
    return PAD + (seconds / this.dance.duration) * (this.width - 2 * PAD);
  }

  timeAt(x) {
    const t = ((x - PAD) / Math.max(1, this.width - 2 * PAD)) * this.dance.duration;
    return Math.min(Math.max(t, 0), this.dance.duration);
  }

  /** Repaint if the playhead moved or anything changed since the last paint. */
  draw(time) {
    if (time === this.drawnTime || this.width === 0) return;
    this.drawnTime = time;
    const ctx = this.ctx;
    ctx.fillStyle = COLORS.background;
    ctx.fillRect(0, 0, this.width, HEIGHT);
    this._drawSegments(ctx);
    this._drawBlends(ctx);
    this._drawBeats(ctx);
    this._drawRanges(ctx);
    this._drawPlayhead(ctx, time);
    this._drawLabels(ctx);
  }

  _drawSegments(ctx) {
    const [top, bottom] = SEGMENT_BAND;
    ctx.font = "11px ui-sans-serif, system-ui, sans-serif";
    ctx.textBaseline = "middle";
    this.dance.segments.forEach((segment, i) => {
      const x0 = this.xOf(segment.start);
      const x1 = this.xOf(Math.min(segment.end, this.dance.duration));
      ctx.fillStyle = COLORS.segments[i % 2];
      ctx.fillRect(x0, top, x1 - x0, bottom - top);
      ctx.fillStyle = COLORS.segmentText;
      const text = ellipsize(ctx, segment.text || "", x1 - x0 - 8);
      if (text) ctx.fillText(text, x0 + 4, (top + bottom) / 2);
    });
    ctx.fillStyle = COLORS.border;
    ctx.fillRect(PAD, bottom, this.width - 2 * PAD, 1);
  }

  _drawBlends(ctx) {
    const [top, bottom] = BLEND_BAND;
    ctx.fillStyle = COLORS.blend;
    for (const [a, b] of this.dance.blends) {
      const x0 = this.xOf(a);
      ctx.fillRect(x0, top, Math.max(2, this.xOf(b) - x0), bottom - top);
    }
  }

  _drawBeats(ctx) {
    const [top, bottom] = BEAT_BAND;
    ctx.fillStyle = COLORS.beat;
    for (const beat of this.dance.beats) {
      ctx.fillRect(Math.round(this.xOf(beat)), top + 6, 1, bottom - top - 10);
    }
    ctx.fillStyle = COLORS.border;
    ctx.fillRect(PAD, bottom, this.width - 2 * PAD, 1);
  }

  _drawRanges(ctx) {
    const bottom = BEAT_BAND[1];
    for (const [a, b] of this.ranges) {
      const x0 = this.xOf(a);
      const x1 = this.xOf(b);
      ctx.fillStyle = COLORS.selection;
      ctx.fillRect(x0, 0, x1 - x0, bottom);
      ctx.fillStyle = COLORS.selectionEdge;
      ctx.fillRect(x0, 0, 1, bottom);
      ctx.fillRect(x1 - 1, 0, 1, bottom);
    }
    const dragged = this._draggedRange();
    if (dragged) {
      ctx.fillStyle = COLORS.dragging;
      ctx.fillRect(this.xOf(dragged[0]), 0, this.xOf(dragged[1]) - this.xOf(dragged[0]), bottom);
    }
  }

  _drawPlayhead(ctx, time) {
    const x = Math.round(this.xOf(Math.min(time, this.dance.duration)));
    ctx.fillStyle = COLORS.playhead;
    ctx.fillRect(x - 1, 0, 2, BEAT_BAND[1]);
    ctx.beginPath(); // a small notch on top so the playhead reads even over a selection
    ctx.moveTo(x - 5, 0);
    ctx.lineTo(x + 5, 0);
    ctx.lineTo(x, 6);
    ctx.fill();
  }

  _drawLabels(ctx) {
    ctx.fillStyle = COLORS.label;
    ctx.font = "11px ui-monospace, SFMono-Regular, Menlo, monospace";
    ctx.textBaseline = "middle";
    ctx.textAlign = "left";
    ctx.fillText(formatTime(0), PAD, LABEL_Y);
    ctx.textAlign = "right";
    ctx.fillText(formatTime(this.dance.duration), this.width - PAD, LABEL_Y);
    ctx.textAlign = "left";
  }

  _draggedRange() {
    const p = this.press;
    if (!p || !p.dragging) return null;
    const a = this.timeAt(p.x);
    const b = this.timeAt(p.lastX);
    return [Math.min(a, b), Math.max(a, b)];
  }

  // --- pointer input: click = seek, drag = select, shift + drag = add a range -------------------

  _listen() {
    const c = this.canvas;
    this._handlers = {
      pointerdown: (e) => {
        if (e.button !== 0) return;
        c.setPointerCapture(e.pointerId);
        this.press = { x: e.offsetX, y: e.offsetY, lastX: e.offsetX, shift: e.shiftKey, dragging: false };
      },
      pointermove: (e) => {
        const p = this.press;
        if (!p) return;
        p.lastX = e.offsetX;
        if (Math.hypot(e.offsetX - p.x, e.offsetY - p.y) >= CLICK_SLOP) p.dragging = true;
        if (p.dragging) this.invalidate();
      },
      pointerup: (e) => {
        const p = this.press;
        if (!p) return;
        p.lastX = e.offsetX;
        this.press = null;
        if (!p.dragging) this.onSeek(this.timeAt(e.offsetX));
        else this._finishDrag(p);
        this.invalidate();
      },
      pointercancel: () => {
        this.press = null;
        this.invalidate();
      },
    };
    for (const [name, handler] of Object.entries(this._handlers)) c.addEventListener(name, handler);
  }

  _finishDrag(p) {
    const a = this.timeAt(p.x);
    const b = this.timeAt(p.lastX);
    const added = normalizeRanges([[a, b]], this.dance.duration);
    if (added.length === 0) return; // shorter than 0.1 s once rounded: nothing to select
    const base = p.shift ? this.ranges : [];
    this.ranges = normalizeRanges([...base, ...added], this.dance.duration);
    this.onSelect(this.selection());
  }

  dispose() {
    for (const [name, handler] of Object.entries(this._handlers)) {
      this.canvas.removeEventListener(name, handler);
    }
    this.canvas.remove();
  }
}

/** The longest prefix of text (plus "…") that fits in maxWidth pixels; "" if not even "…" fits. */
function ellipsize(ctx, text, maxWidth) {
  if (ctx.measureText(text).width <= maxWidth) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (ctx.measureText(`${text.slice(0, mid)}…`).width <= maxWidth) lo = mid;
    else hi = mid - 1;
  }
  return lo > 0 ? `${text.slice(0, lo).trimEnd()}…` : "";
}
