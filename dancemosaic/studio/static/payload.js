// The dance payload written by Python (version 1), decoded into typed arrays the views draw from.
//
// Positions travel as base64 of little-endian int16 millimetres (T * J * 3, x y z, y up): half the
// size of float32 and exact to a millimetre, which is far below what a viewer can show.
//
// With the user's SMPL model (see smpl_mesh.py) two more fields come: ``mesh``, the URL of the body's
// JSON (relative to the page, as ``audio``; body.js fetches it), and ``rotations``, base64 of
// little-endian int16 quaternions (T * J * 4, x y z w, times 32767): each joint's rotation relative
// to its parent, identity in the T-pose. A dance whose rotations don't decode still shows, as the
// mannequin.

const SUPPORTED_VERSION = 1;

/** Decode and check a payload; throws an Error saying which field is wrong. */
export function decodePayload(payload) {
  if (!payload || payload.version !== SUPPORTED_VERSION) {
    throw new Error(`dance payload version ${payload && payload.version} is not ${SUPPORTED_VERSION}`);
  }
  const { fps, frames, joints } = payload;
  if (!(fps > 0) || !(frames > 0) || !(joints > 0)) {
    throw new Error(`dance payload needs positive fps, frames and joints (got ${fps}, ${frames}, ${joints})`);
  }
  if (payload.names.length !== joints || payload.parents.length !== joints) {
    throw new Error(`dance payload has ${joints} joints but ${payload.names.length} names and ` +
      `${payload.parents.length} parents`);
  }
  const positions = decodePositions(payload.positions, frames * joints * 3);
  const duration = payload.duration > 0 ? payload.duration : frames / fps;
  const body = decodeBody(payload, frames * joints * 4);
  return {
    id: payload.id ?? null,
    fps,
    frames,
    joints,
    names: payload.names.slice(),
    parents: payload.parents.slice(),
    positions, // Float32Array (T * J * 3), metres
    audio: payload.audio || null,
    duration,
    beats: (payload.beats || []).filter((t) => t >= 0 && t <= duration),
    segments: payload.segments || [],
    blends: normalizeRanges(payload.blends || [], duration), // where the last edit's new motion joins the old
    selection: normalizeRanges(payload.selection || [], duration),
    keptJoints: payload.kept_joints || [],
    selectable: selectableJoints(payload.selectable, joints), // the joints a click may keep
    ghosts: ghostOptions(payload.ghosts), // [{id, label, url}]: dances to draw beside this one
    floorY: minimumHeight(positions),
    pelvisHeight: meanRootHeight(positions, frames, joints),
    mesh: body.mesh, // URL of the SMPL body's JSON, or null: draw the mannequin
    rotations: body.rotations, // Float32Array (T * J * 4) unit quaternions x y z w, or null
  };
}

/** Bytes of a base64 string. */
export function decodeBase64(base64) {
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(base64);
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** {mesh, rotations}: both, or both null (with a console warning when the rotations are bad). */
function decodeBody(payload, count) {
  if (!payload.mesh) return { mesh: null, rotations: null };
  try {
    if (typeof payload.rotations !== "string") throw new Error("the payload has a mesh but no rotations");
    const bytes = decodeBase64(payload.rotations);
    if (bytes.length !== count * 2) {
      throw new Error(`rotations decode to ${bytes.length} bytes, expected ${2 * count} (T * J * 4 int16)`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const rotations = new Float32Array(count);
    for (let i = 0; i < count; i += 4) {
      let norm = 0;
      for (let k = 0; k < 4; k++) {
        rotations[i + k] = view.getInt16(2 * (i + k), true) / 32767;
        norm += rotations[i + k] ** 2;
      }
      norm = Math.sqrt(norm) || 1; // undo the int16 rounding: three.js expects unit quaternions
      for (let k = 0; k < 4; k++) rotations[i + k] /= norm;
    }
    return { mesh: String(payload.mesh), rotations };
  } catch (err) {
    console.warn(`DanceMosaic player: no SMPL body for this dance (${err.message}); showing the mannequin.`);
    return { mesh: null, rotations: null };
  }
}

/** The ghosts offered: each an id, a label for the menu and the URL of its own payload. */
function ghostOptions(list) {
  if (!Array.isArray(list)) return [];
  return list
    .filter((g) => g && g.id && typeof g.url === "string")
    .map((g) => ({ id: String(g.id), label: String(g.label || g.id), url: g.url }));
}

/** Set of joint indices; every joint when the payload does not say. */
function selectableJoints(list, joints) {
  const all = [...Array(joints).keys()];
  return new Set(Array.isArray(list) ? list.filter((j) => Number.isInteger(j) && j >= 0 && j < joints) : all);
}

function decodePositions(base64, count) {
  const bytes = decodeBase64(base64);
  if (bytes.length !== count * 2) {
    throw new Error(`dance payload positions decode to ${bytes.length} bytes, expected ${2 * count} (T * J * 3 int16)`);
  }
  // DataView reads little-endian whatever the host's byte order.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, true) / 1000;
  return out;
}

function minimumHeight(positions) {
  let low = Infinity;
  for (let i = 1; i < positions.length; i += 3) low = Math.min(low, positions[i]);
  return low;
}

function meanRootHeight(positions, frames, joints) {
  let sum = 0;
  for (let t = 0; t < frames; t++) sum += positions[t * joints * 3 + 1];
  return sum / frames;
}

/** Ranges [[start, end], ...] in seconds -> rounded to 0.1 s, clamped, sorted, overlaps merged. */
export function normalizeRanges(ranges, duration) {
  const round = (t) => Math.round(Math.min(Math.max(t, 0), duration) * 10) / 10;
  const sorted = ranges
    .map(([a, b]) => [round(Math.min(a, b)), round(Math.max(a, b))])
    .filter(([a, b]) => b > a)
    .sort((p, q) => p[0] - q[0]);
  const merged = [];
  for (const [a, b] of sorted) {
    const last = merged[merged.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  return merged;
}

/** Seconds -> "m:ss.s". */
export function formatTime(seconds) {
  const tenths = Math.max(0, Math.round(seconds * 10));
  const minutes = Math.floor(tenths / 600);
  const rest = (tenths % 600) / 10;
  return `${minutes}:${rest < 10 ? "0" : ""}${rest.toFixed(1)}`;
}
