// The user's own SMPL body, skinned with the dance's local joint rotations (see smpl_mesh.py).
//
// The server sends the mesh once, as JSON at a URL (``payload.mesh``): rest vertices of the mean
// shape in the T-pose, faces, the four strongest bones per vertex, the 24 rest joints and their
// parents. Each payload then carries only rotations (``payload.rotations``, decoded by payload.js):
// every joint's rotation relative to its parent, identity in the T-pose. The skinning is three.js's
// linear blend skinning, the same as smpl_mesh.skin(): the root bone sits at the pelvis position,
// every other bone at its rest offset from its parent, and the inverse bind matrices undo the rest
// joint positions (the rest pose has identity rotations).

import * as THREE from "./vendor/three/three.module.js";
import { decodeBase64 } from "./payload.js";

const BODY_COLOR = 0xc8bcb2; // a neutral, slightly warm grey: reads as a body without a skin tone
const INFLUENCES = 4; // bones per vertex, as three.js skins

const templates = new Map(); // absolute URL -> Promise<BodyTemplate>

/**
 * The body at ``url`` (relative to the page, as the payload's song), fetched and built once per
 * URL: later calls get the same promise, so every dance (and every player) shares one geometry.
 * A failed load is forgotten, so a later payload tries again.
 */
export function loadBodyTemplate(url) {
  const key = new URL(url, document.baseURI).href;
  if (!templates.has(key)) {
    const promise = fetch(key)
      .then((response) => {
        if (!response.ok) throw new Error(`HTTP ${response.status} for ${key}`);
        return response.json();
      })
      .then((json) => buildTemplate(json, key));
    promise.catch(() => templates.delete(key));
    templates.set(key, promise);
  }
  return templates.get(key);
}

/** {url, geometry, joints (Float32Array 24*3), parents} from the JSON of smpl_mesh.mesh_payload. */
function buildTemplate(json, url) {
  const vertices = decodeFloat32(json.vertices, "vertices");
  const faces = decodeUint32(json.faces, "faces");
  const skinIndex = decodeUint16(json.skin_index, "skin_index");
  const skinWeight = decodeFloat32(json.skin_weight, "skin_weight");
  const count = vertices.length / 3;
  const parents = json.parents;
  if (!Number.isInteger(count) || count === 0) throw new Error("mesh vertices are not V * 3 floats");
  if (faces.length % 3 !== 0) throw new Error("mesh faces are not F * 3 indices");
  if (faces.some((i) => i >= count)) throw new Error("mesh faces point past the last vertex");
  if (skinIndex.length !== count * INFLUENCES || skinWeight.length !== count * INFLUENCES) {
    throw new Error(`mesh skin_index / skin_weight are not V * ${INFLUENCES} for V = ${count}`);
  }
  if (!Array.isArray(json.joints) || !Array.isArray(parents) || json.joints.length !== parents.length) {
    throw new Error("mesh joints and parents differ in length");
  }
  if (skinIndex.some((b) => b >= parents.length)) throw new Error("mesh skin_index names a missing bone");
  if (parents.some((p, j) => p >= j)) throw new Error("mesh parents must come before their children");

  const geometry = new THREE.BufferGeometry();
  geometry.setAttribute("position", new THREE.BufferAttribute(vertices, 3));
  geometry.setIndex(new THREE.BufferAttribute(faces, 1));
  geometry.setAttribute("skinIndex", new THREE.BufferAttribute(skinIndex, INFLUENCES));
  geometry.setAttribute("skinWeight", new THREE.BufferAttribute(skinWeight, INFLUENCES));
  geometry.computeVertexNormals(); // smooth shading: SMPL's mesh shares its vertices across faces
  return { url, geometry, joints: Float32Array.from(json.joints.flat()), parents: parents.slice() };
}

/**
 * One skinned body on a stage: a THREE.SkinnedMesh over a template's shared geometry, with its
 * own skeleton (so two players can show different frames). ``pose`` moves it to a frame.
 */
export class Body {
  constructor(template) {
    this.template = template;
    const { joints, parents } = template;
    this.bones = parents.map((parent, j) => {
      const bone = new THREE.Bone();
      bone.name = `joint${j}`;
      const at = (k) => new THREE.Vector3(joints[3 * k], joints[3 * k + 1], joints[3 * k + 2]);
      bone.position.copy(parent < 0 ? at(j) : at(j).sub(at(parent)));
      return bone;
    });
    parents.forEach((parent, j) => parent >= 0 && this.bones[parent].add(this.bones[j]));
    const inverses = parents.map((_, j) =>
      new THREE.Matrix4().makeTranslation(-joints[3 * j], -joints[3 * j + 1], -joints[3 * j + 2]));
    this.skeleton = new THREE.Skeleton(this.bones, inverses);
    this.material = new THREE.MeshStandardMaterial({ color: BODY_COLOR, roughness: 0.85, metalness: 0 });
    this.mesh = new THREE.SkinnedMesh(template.geometry, this.material);
    this.mesh.name = "smpl-body";
    this.mesh.castShadow = true;
    this.mesh.frustumCulled = false; // its bounding sphere is the rest pose's, not the dancer's
    this.roots = this.bones.filter((_, j) => parents[j] < 0);
    this.mesh.add(...this.roots);
    this.mesh.bind(this.skeleton, new THREE.Matrix4()); // the mesh stays at the origin
  }

  /** Does this body fit a dance's skeleton (same joint count, rotations to drive it)? */
  fits(dance) {
    return Boolean(dance.rotations) && dance.joints === this.template.parents.length;
  }

  /**
   * Show a frame: every bone's local rotation from ``dance.rotations`` (x, y, z, w per joint) and
   * the root bone at the pelvis, ``dance.positions``' joint 0.
   */
  pose(dance, frame) {
    const q = dance.rotations;
    const base = frame * dance.joints;
    this.bones.forEach((bone, j) => {
      const i = (base + j) * 4;
      bone.quaternion.set(q[i], q[i + 1], q[i + 2], q[i + 3]);
    });
    const p = base * 3;
    for (const root of this.roots) root.position.set(dance.positions[p], dance.positions[p + 1], dance.positions[p + 2]);
  }

  /** World position of vertex i as three.js skins it in the shown pose (a test hook). */
  vertex(i) {
    this.mesh.updateMatrixWorld(true);
    const v = this.mesh.getVertexPosition(i, new THREE.Vector3()).applyMatrix4(this.mesh.matrixWorld);
    return { x: v.x, y: v.y, z: v.z };
  }

  /** Frees this body's own GPU resources; the shared geometry stays with its template. */
  dispose() {
    this.mesh.removeFromParent();
    this.skeleton.dispose();
    this.material.dispose();
  }
}

// --- little-endian binary in base64 ---------------------------------------------------------------

function decodeFloat32(base64, name) {
  const view = viewOf(base64, 4, name);
  const out = new Float32Array(view.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

function decodeUint32(base64, name) {
  const view = viewOf(base64, 4, name);
  const out = new Uint32Array(view.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(4 * i, true);
  return out;
}

function decodeUint16(base64, name) {
  const view = viewOf(base64, 2, name);
  const out = new Uint16Array(view.byteLength / 2);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint16(2 * i, true);
  return out;
}

function viewOf(base64, size, name) {
  if (typeof base64 !== "string") throw new Error(`mesh has no ${name}`);
  const bytes = decodeBase64(base64);
  if (bytes.length % size !== 0) throw new Error(`mesh ${name} is not a whole number of ${size}-byte values`);
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
