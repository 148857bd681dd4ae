// The 3D view: a floor, orbit controls and the dancer as a solid, shaded mannequin (figure.js) moved
// to each frame's joint positions, which shows exactly what the model generated. When the payload
// carries the user's SMPL body (``dance.mesh`` and ``dance.rotations``, see body.js) the body is
// skinned instead; the mannequin's joints stay as small see-through dots, so joints can still be
// clicked and kept joints still stand out. Until the body has loaded, and if it fails to, the
// mannequin shows.

import * as THREE from "./vendor/three/three.module.js";
import { OrbitControls } from "./vendor/three/OrbitControls.js";
import { Body, loadBodyTemplate } from "./body.js";
import { Figure, HALO_PX } from "./figure.js";
import { listenForJointClicks } from "./picking.js";

const PICK_RADIUS = 8; // px: a click this close to a joint's centre picks it even if it misses the body
const FOLLOW_RATE = 3; // 1/s: how fast the orbit target glides after the pelvis
const FLOOR_SIZE = 60; // metres; fog hides its edge
const GRID_CELL = 0.5; // metres between floor lines

// Camera presets: where the camera sits, seen from the orbit target (the pelvis), as a direction.
// The dancer faces +z at frame 0 and its left is +x, so "side" shows the dancer's left; "top" looks
// straight down with the dancer's front towards the bottom of the screen (the audience's side).
// "orbit" is the free camera, starting from a three-quarter view; dragging leaves any preset.
const VIEWS = {
  orbit: new THREE.Vector3(1.2, 0.7, 4.2).normalize(),
  front: new THREE.Vector3(0, 0, 1),
  side: new THREE.Vector3(1, 0, 0),
  top: new THREE.Vector3(0, 1, 1e-3).normalize(), // not exactly up, where "up" on screen is undefined
};
const VIEW_DISTANCE = 4.4; // metres: the whole body with room to move
export const GHOST_BESIDE = 1.0; // metres along +x between the dancer and a ghost drawn beside it
const PRESET_TOLERANCE = THREE.MathUtils.degToRad(2); // a camera turned less than this is still in its preset

const COLORS = {
  background: 0xf4f4f5,
  floor: "#ebebee",
  gridLine: "#c4c4cc",
};

/**
 * null when no WebGL 2 context can be made (three.js renders only with WebGL 2 since r163), else
 * {software}: whether the "GPU" is a CPU rasterizer (SwiftShader, llvmpipe), where antialiasing
 * alone costs about a third of every frame.
 */
export function probeWebgl() {
  try {
    const gl = document.createElement("canvas").getContext("webgl2");
    if (!gl) return null;
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    const lose = gl.getExtension("WEBGL_lose_context"); // free the probe's context right away
    if (lose) lose.loseContext();
    return { software: /swiftshader|llvmpipe|softpipe|software/i.test(renderer) };
  } catch {
    return null;
  }
}

export class Stage3D {
  /** Throws if the WebGL renderer cannot be created; the player then falls back to Stage2D. */
  constructor(container, { onPick, software = false }) {
    this.webgl = true;
    this.onPick = onPick;
    this.renderer = new THREE.WebGLRenderer({ antialias: !software });
    this.renderer.setPixelRatio(software ? 1 : Math.min(window.devicePixelRatio || 1, 2));
    this.renderer.shadowMap.enabled = true;
    this.renderer.shadowMap.type = THREE.PCFShadowMap;
    this.canvas = this.renderer.domElement;
    this.canvas.className = "dm-canvas";
    container.appendChild(this.canvas);

    this.scene = new THREE.Scene();
    this.scene.background = new THREE.Color(COLORS.background);
    this.scene.fog = new THREE.Fog(COLORS.background, 8, 24); // fade the floor out before its edge
    this.camera = new THREE.PerspectiveCamera(40, 1, 0.05, 100);
    this.camera.position.set(0, 1.5, 4.5);
    this.controls = new OrbitControls(this.camera, this.canvas);
    this.controls.enableDamping = true;
    this.controls.target.set(0, 0.9, 0);
    this.controls.addEventListener("change", () => (this.dirty = true));
    this.controls.addEventListener("change", () => this._leavePresetIfTurned());
    this.view = "orbit";
    this.onViewChange = () => {}; // (name): the user turned the camera out of a preset
    this.views = Object.keys(VIEWS);

    this._addLights();
    this._addFloor();
    this.figure = null; // the dance's mannequin (figure.js)
    this.ghost = null; // another dance's mannequin, see-through, at the same frame (setGhost)
    this.ghostOffset = 0;
    this.dance = null;
    this.frame = 0;
    this.kept = new Set();
    this.body = null; // the skinned SMPL body (body.js), kept across dances with the same mesh URL
    this.bodyShown = false; // whether the body is drawn in place of the mannequin's cylinders
    this.bodyRequest = 0; // counts body loads, so a late one for an older dance is dropped
    this.follow = true;
    this.framedOnce = false; // the camera is placed for the first dance only, then left to the user
    this.lastTick = performance.now();
    this.dirty = true;
    this._handlers = listenForJointClicks(this);
  }

  _addLights() {
    this.scene.add(new THREE.HemisphereLight(0xffffff, 0xb0b0b8, 1.6));
    this.sun = new THREE.DirectionalLight(0xffffff, 1.8);
    this.sun.position.set(2, 5, 3);
    this.sun.castShadow = true;
    this.sun.shadow.mapSize.set(1024, 1024);
    const box = this.sun.shadow.camera; // a small box around the dancer keeps the shadow sharp
    box.left = box.bottom = -2.5;
    box.right = box.top = 2.5;
    box.near = 0.5;
    box.far = 12;
    this.scene.add(this.sun, this.sun.target);
  }

  // The floor is a textured plane rather than a GridHelper: grid lines that pass behind the camera
  // vanish entirely under some WebGL implementations (SwiftShader, used headless and on GPU-less
  // machines), while triangles are clipped correctly everywhere. A transparent plane just above it
  // catches the dancer's shadow without changing the floor's colours.
  _addFloor() {
    const floor = new THREE.Mesh(
      new THREE.PlaneGeometry(FLOOR_SIZE, FLOOR_SIZE),
      new THREE.MeshBasicMaterial({ map: this._gridTexture() }),
    );
    const shadow = new THREE.Mesh(
      new THREE.PlaneGeometry(FLOOR_SIZE, FLOOR_SIZE),
      new THREE.ShadowMaterial({ color: 0x000000, opacity: 0.18 }),
    );
    floor.rotation.x = shadow.rotation.x = -Math.PI / 2;
    shadow.position.y = 0.001; // just above the floor, so the two never z-fight
    shadow.receiveShadow = true;
    this.scene.add(floor, shadow);
  }

  /** One floor cell (GRID_CELL metres) with a line along two edges, repeated over the floor. */
  _gridTexture() {
    const size = 128;
    const canvas = Object.assign(document.createElement("canvas"), { width: size, height: size });
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = COLORS.floor;
    ctx.fillRect(0, 0, size, size);
    ctx.fillStyle = COLORS.gridLine;
    ctx.fillRect(0, 0, size, 3);
    ctx.fillRect(0, 0, 3, size);
    const texture = new THREE.CanvasTexture(canvas);
    texture.colorSpace = THREE.SRGBColorSpace;
    texture.wrapS = texture.wrapT = THREE.RepeatWrapping;
    texture.repeat.set(FLOOR_SIZE / GRID_CELL, FLOOR_SIZE / GRID_CELL);
    texture.anisotropy = this.renderer.capabilities.getMaxAnisotropy(); // crisp at grazing angles
    return texture;
  }

  /** Build the mannequin for a dance (joint count and tree may differ between dances). */
  setDance(dance) {
    if (this.figure) this.figure.dispose();
    this.dance = dance;
    this.bodyShown = false; // the mannequin until this dance's body is ready (see _requestBody)
    if (this.body) this.body.mesh.visible = false;
    this.figure = new Figure(dance);
    this.figure.setKept(this.kept);
    this._sizeHalos();
    this.scene.add(this.figure.group);
    this.frame = -1;
    this.showFrame(0);
    this._requestBody(dance);
    if (!this.framedOnce) this._frameCamera();
    this.dirty = true;
  }

  // --- the skinned body --------------------------------------------------------------------------

  /** Show the dance's SMPL body once its mesh is here (at once if this stage already built it). */
  _requestBody(dance) {
    const request = ++this.bodyRequest;
    if (!dance.mesh || !dance.rotations) return;
    loadBodyTemplate(dance.mesh).then(
      (template) => {
        if (request !== this.bodyRequest || this.disposed) return; // another dance came meanwhile
        if (!this.body || this.body.template !== template) {
          if (this.body) this.body.dispose();
          this.body = new Body(template);
          this.scene.add(this.body.mesh);
        }
        if (!this.body.fits(dance)) {
          console.warn(`DanceMosaic player: the SMPL body has ${template.parents.length} joints, ` +
            `the dance ${dance.joints}; showing the mannequin.`);
          return;
        }
        this._setBodyShown(true);
        this.body.pose(dance, this.frame);
        this.dirty = true;
      },
      (err) => {
        if (request !== this.bodyRequest || this.disposed) return;
        console.warn(`DanceMosaic player: the SMPL body ${dance.mesh} could not be loaded; showing the mannequin.`, err);
      },
    );
  }

  /** Body or mannequin: the body hides the mannequin, whose joints stay as see-through dots. */
  _setBodyShown(on) {
    this.bodyShown = on;
    if (this.body) this.body.mesh.visible = on;
    this.figure.setDots(on);
  }

  /** World position of vertex i of the shown body, as three.js skins it; null without a body. */
  bodyVertex(i) {
    return this.bodyShown ? this.body.vertex(i) : null;
  }

  /** Place the camera in front of the dancer (who faces +z at frame 0), looking at the pelvis. */
  _frameCamera() {
    const p = this._jointPosition(0, new THREE.Vector3());
    this.controls.target.set(p.x, Math.max(0.5, this.dance.pelvisHeight), p.z);
    this._placeCamera(VIEWS[this.view], VIEW_DISTANCE);
    this.framedOnce = true;
  }

  /** Look from a preset direction (VIEWS), keeping the orbit target and the user's zoom. */
  setView(name) {
    if (!(name in VIEWS)) throw new Error(`unknown view ${name}; use one of ${Object.keys(VIEWS).join(", ")}`);
    this.view = name;
    const distance = this.camera.position.distanceTo(this.controls.target) || VIEW_DISTANCE;
    this._placeCamera(VIEWS[name], distance);
  }

  _placeCamera(direction, distance) {
    const controls = this.controls;
    // A spin the user gave the camera just before must not carry it off the preset (damping).
    if (controls._sphericalDelta) controls._sphericalDelta.set(0, 0, 0);
    this.camera.position.copy(controls.target).addScaledVector(direction, distance);
    this.camera.lookAt(controls.target);
    this.presetTurn = this.camera.quaternion.clone(); // zooming and following keep it; turning does not
    controls.update(); // fires "change" (see _leavePresetIfTurned): presetTurn must be set already
    this.dirty = true;
  }

  /** A camera the user turned away from its preset is the free (orbit) camera again. */
  _leavePresetIfTurned() {
    if (this.view === "orbit" || this.camera.quaternion.angleTo(this.presetTurn) < PRESET_TOLERANCE) return;
    this.view = "orbit";
    this.onViewChange(this.view);
  }

  _jointPosition(j, out) {
    const d = this.dance;
    const i = (this.frame * d.joints + j) * 3;
    return out.set(d.positions[i], d.positions[i + 1], d.positions[i + 2]);
  }

  showFrame(frame) {
    if (!this.dance || frame === this.frame) return;
    this.frame = frame;
    this.figure.pose(frame);
    if (this.bodyShown) this.body.pose(this.dance, frame);
    this._poseGhost();
    this.dirty = true;
  }

  // --- the ghost: another version or variation in the same place (or beside), to compare ----------

  /** Draw ``dance`` (decoded payload) as a ghost at the shown frame; null removes it. */
  setGhost(dance) {
    if (this.ghost) this.ghost.dispose();
    this.ghost = dance ? new Figure(dance, { ghost: true }) : null;
    if (this.ghost) this.scene.add(this.ghost.group);
    this._poseGhost();
    this.dirty = true;
  }

  /** The ghost over the dancer (false) or GHOST_BESIDE metres to its side (true). */
  setGhostBeside(on) {
    this.ghostOffset = on ? GHOST_BESIDE : 0;
    this._poseGhost();
    this.dirty = true;
  }

  _poseGhost() {
    if (!this.ghost) return;
    const inside = this.frame >= 0 && this.frame < this.ghost.dance.frames;
    this.ghost.group.visible = inside; // a shorter version has nothing to show past its end
    this.ghost.group.position.x = this.ghostOffset;
    if (inside) this.ghost.pose(this.frame);
  }

  setHighlighted(indices) {
    this.kept = new Set(indices);
    if (this.figure) this.figure.setKept(this.kept);
    this.dirty = true;
  }

  setFollow(on) {
    this.follow = on;
  }

  /** Called every animation frame: glide the camera after the dancer, render if anything changed. */
  tick() {
    const now = performance.now();
    const dt = Math.min(0.1, (now - this.lastTick) / 1000);
    this.lastTick = now;
    if (this.dance && this.follow) this._followPelvis(dt);
    this.controls.update(); // applies damping; fires "change" (-> dirty) while the camera moves
    if (!this.dirty) return;
    this.dirty = false;
    this.renderer.render(this.scene, this.camera);
  }

  _followPelvis(dt) {
    const pelvis = this._jointPosition(0, new THREE.Vector3());
    const goal = new THREE.Vector3(pelvis.x, this.controls.target.y, pelvis.z);
    const step = goal.sub(this.controls.target).multiplyScalar(1 - Math.exp(-FOLLOW_RATE * dt));
    if (step.lengthSq() < 1e-8) return; // settled within 0.1 mm: stop repainting
    // Move the camera with its target so the user's chosen angle and distance are kept.
    this.controls.target.add(step);
    this.camera.position.add(step);
    this.sun.position.add(step);
    this.sun.target.position.add(step);
    this.dirty = true;
  }

  resize(width, height) {
    if (width === 0 || height === 0) return;
    this.renderer.setSize(width, height, false);
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
    this.height = height;
    this._sizeHalos();
    this.dirty = true;
  }

  _sizeHalos() {
    if (!this.figure || !this.height) return;
    const tan = Math.tan(THREE.MathUtils.degToRad(this.camera.fov) / 2);
    this.figure.setHaloScale((2 * tan * HALO_PX) / this.height);
  }

  /** Joint j of the shown frame in viewport (client) pixels: for tests and for picking. */
  jointScreenPosition(j) {
    const rect = this.canvas.getBoundingClientRect();
    const v = this._jointPosition(j, new THREE.Vector3()).project(this.camera);
    return { x: rect.left + ((v.x + 1) / 2) * rect.width, y: rect.top + ((1 - v.y) / 2) * rect.height };
  }

  // --- picking: a press that barely moves is a click on a joint; anything longer orbits ----------

  /** Index of the joint under (clientX, clientY), or null. */
  _pick(clientX, clientY) {
    if (!this.dance) return null;
    const rect = this.canvas.getBoundingClientRect();
    const ndc = new THREE.Vector2(
      ((clientX - rect.left) / rect.width) * 2 - 1,
      -((clientY - rect.top) / rect.height) * 2 + 1,
    );
    const raycaster = new THREE.Raycaster();
    raycaster.setFromCamera(ndc, this.camera);
    const hit = raycaster.intersectObjects(this.figure.pickables(), false)[0];
    if (hit) return this.figure.jointOfHit(hit);
    // Limbs are a few pixels wide from afar: also accept a click near a joint's centre.
    let best = null;
    let bestDistance = PICK_RADIUS;
    this.dance.names.forEach((_, j) => {
      const p = this.jointScreenPosition(j);
      const d = Math.hypot(p.x - clientX, p.y - clientY);
      if (d < bestDistance) [best, bestDistance] = [j, d];
    });
    return best;
  }

  dispose() {
    this.disposed = true;
    for (const [name, handler] of Object.entries(this._handlers)) {
      this.canvas.removeEventListener(name, handler);
    }
    this.controls.dispose();
    if (this.figure) this.figure.dispose();
    if (this.ghost) this.ghost.dispose();
    if (this.body) this.body.dispose(); // its geometry is shared with later players: not disposed
    this.body = null;
    this.scene.traverse((o) => {
      if (o.geometry) o.geometry.dispose();
      if (o.material) {
        if (o.material.map) o.material.map.dispose();
        o.material.dispose();
      }
    });
    this.renderer.dispose();
    this.canvas.remove();
  }
}
