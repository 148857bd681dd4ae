// DanceMosaic's browser-side dance player. Loaded by dynamic import() from the studio's static folder
// (so every import here is relative), it turns a root element into a 3D view (2D without WebGL), a
// timeline and a transport bar, all driven by one clock: the song's <audio> element.
//
//   const { createPlayer } = await import(".../static/viewer.js");
//   const player = createPlayer(root, { onJointClick: (index, name) => {}, onSelect: (ranges) => {} });
//   player.load(payload);                 // show a dance; replaces the previous one, keeps the camera
//   player.setSelection([[4.0, 8.0]]);    // highlight time ranges (seconds) on the timeline
//   player.setHighlightedJoints([16, 18]) // draw these joints in the highlight colour
//   player.setLoop(true);                 // playback wraps from a selected range's end to its start
//   player.setSpeed(0.5);                 // play at half speed (SPEEDS); the frame is still time * fps
//   player.setView("side");               // camera preset: orbit (3D only), front, side, top
//   await player.setGhost("c2");          // draw one of payload.ghosts see-through with the dance (null: none)
//   player.setGhostBeside(true);          // the ghost a metre to the side instead of over the dancer
//   player.state();                       // {frame, time, playing, webgl, body, frames, fps, selection, id,
//                                         //  kept, loop, speed, view, ghost, ghostBeside}
//   player.jointScreenPosition(16);       // {x, y} in viewport pixels, for tests
//   player.bodyVertex(0);                 // {x, y, z} of a skinned SMPL body vertex (or null), for tests
//   player.dispose();
//
// The root's data-frame / data-time attributes follow the shown frame and data-ready is "1" once a
// dance is shown, so tests (and curious users) can read the player from outside. A payload with the
// user's SMPL body (``mesh`` and ``rotations``) is drawn as that body once it has loaded (state().body
// is then true); the 2D view always draws the stick figure.

import { AudioClock, InternalClock } from "./clock.js";
import { SelectionLoop } from "./loop.js";
import { decodePayload, formatTime } from "./payload.js";
import { Stage2D } from "./stage2d.js";
import { probeWebgl, Stage3D } from "./stage3d.js";
import { Timeline } from "./timeline.js";

export const SPEEDS = [0.25, 0.5, 0.75, 1]; // playback rates offered: slow enough to learn a move
const GHOST_CACHE = 8; // ghost motions kept decoded, so flicking between variations does not refetch

export function createPlayer(root, { onJointClick = () => {}, onSelect = () => {} } = {}) {
  ensureStylesheet(root);
  const ui = buildDom(root);
  const stage = createStage(ui.stage, (j) => dance && onJointClick(j, dance.names[j]));
  root.classList.toggle("dm-no-webgl", !stage.webgl);
  ui.follow.hidden = !stage.webgl;
  for (const name of stage.views) ui.el("option", "", ui.view, { value: name, textContent: name });
  ui.view.value = stage.view;
  stage.onViewChange = (name) => (ui.view.value = name); // a drag turned the camera out of a preset

  const timeline = new Timeline(ui.timelineBox, {
    onSeek: (t) => {
      clock.seek(t);
      loop.seeked();
    },
    onSelect: (ranges) => onSelect(ranges),
  });
  const loop = new SelectionLoop(() => timeline.selection());
  const audioClock = new AudioClock(ui.audio);
  const internalClock = new InternalClock(1);
  internalClock.onChange = (playing) => {
    if (playing) loop.enter(internalClock, internalClock.time());
    showPlaying();
  };
  let clock = internalClock;
  let dance = null;
  let shown = { frame: -1, time: -1, playing: null };
  let rafId = 0;

  const frameAt = (t) => Math.max(0, Math.min(dance.frames - 1, Math.floor(t * dance.fps)));

  // --- the render loop: read the clock, show that frame, repaint the timeline -------------------

  function tick() {
    rafId = requestAnimationFrame(tick);
    if (dance) {
      const time = loop.step(clock);
      const frame = frameAt(time);
      stage.showFrame(frame);
      if (frame !== shown.frame) root.dataset.frame = String(frame);
      if (time !== shown.time) {
        root.dataset.time = time.toFixed(3);
        ui.time.textContent = `${formatTime(time)} / ${formatTime(dance.duration)} · frame ${frame}`;
      }
      shown = { ...shown, frame, time };
      showPlaying();
      timeline.draw(time);
    }
    stage.tick();
  }

  function showPlaying() {
    const playing = clock.playing();
    if (playing === shown.playing) return;
    shown.playing = playing;
    ui.play.textContent = playing ? "❚❚" : "▶";
    ui.play.setAttribute("aria-label", playing ? "Pause" : "Play");
  }

  // --- clocks: the song when there is one, else an internal clock -------------------------------

  function useAudio(url) {
    if (ui.audio.src !== url) ui.audio.src = url; // the same song keeps its position and play state
    clock = audioClock;
    internalClock.pause();
    root.classList.remove("dm-silent");
  }

  function useInternalClock(duration) {
    internalClock.setDuration(duration);
    if (clock === audioClock) internalClock.seek(audioClock.time()); // carry on from the same moment
    ui.audio.pause();
    if (ui.audio.hasAttribute("src")) {
      ui.audio.removeAttribute("src");
      ui.audio.load(); // drop the old song's data; without a src this raises no error event
    }
    clock = internalClock;
    root.classList.add("dm-silent");
  }

  ui.audio.addEventListener("error", () => {
    if (!dance || clock !== audioClock || !ui.audio.getAttribute("src")) return;
    showMessage("The song could not be loaded; the dance plays without it.");
    useInternalClock(dance.duration);
  });

  // --- user input on the bar and the keyboard ---------------------------------------------------

  ui.play.addEventListener("click", () => clock.toggle());
  // Seeks by the audio's own controls (and ours) must not count as playback reaching a loop's end.
  ui.audio.addEventListener("seeking", () => loop.seeked());
  ui.audio.addEventListener("play", () => loop.enter(audioClock, audioClock.time()));
  ui.loopBox.addEventListener("change", () => setLoop(ui.loopBox.checked));
  ui.speed.addEventListener("change", () => setSpeed(Number(ui.speed.value)));
  ui.view.addEventListener("change", () => stage.setView(ui.view.value));
  ui.ghost.addEventListener("change", () => setGhost(ui.ghost.value || null));
  ui.besideBox.addEventListener("change", () => stage.setGhostBeside(ui.besideBox.checked));
  ui.followBox.addEventListener("change", () => stage.setFollow(ui.followBox.checked));
  // The root outlives the player (dispose empties it), so its listeners go with one abort().
  const rootListeners = new AbortController();
  const onRoot = { signal: rootListeners.signal };
  root.addEventListener("pointerdown", (e) => {
    if (e.target.tagName === "CANVAS") root.focus({ preventScroll: true }); // so space works
  }, onRoot);
  root.addEventListener("keydown", (e) => {
    if (e.code !== "Space" || e.repeat || isControl(e.target)) return;
    e.preventDefault(); // no page scroll
    clock.toggle();
  }, onRoot);

  const resizeObserver = new ResizeObserver(() => {
    stage.resize(ui.stage.clientWidth, ui.stage.clientHeight);
    timeline.resize();
  });
  resizeObserver.observe(ui.stage);
  resizeObserver.observe(ui.timelineBox);

  function setLoop(on) {
    loop.on = on;
    ui.loopBox.checked = on;
    if (on && clock.playing()) loop.enter(clock, clock.time());
  }

  function setSpeed(rate) {
    if (!SPEEDS.includes(rate)) throw new Error(`speed ${rate} is not one of ${SPEEDS.join(", ")}`);
    audioClock.setRate(rate); // both clocks, so switching songs keeps the speed
    internalClock.setRate(rate);
    ui.speed.value = String(rate);
  }

  // --- the ghost: another version or variation drawn with the dance, to compare before keeping ----

  const ghostMotions = new Map(); // url -> Promise of the decoded payload (insertion order = age)
  const ghost = { id: null, shown: null, request: 0 };

  function loadGhostMotion(url) {
    const key = new URL(url, document.baseURI).href;
    if (!ghostMotions.has(key)) {
      const motion = fetch(key)
        .then((response) => {
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          return response.json();
        })
        .then(decodePayload);
      motion.catch(() => ghostMotions.delete(key)); // a failed fetch is tried again next time
      ghostMotions.set(key, motion);
      if (ghostMotions.size > GHOST_CACHE) ghostMotions.delete(ghostMotions.keys().next().value);
    }
    return ghostMotions.get(key);
  }

  /** Show the offered ghost ``id`` (null or an id not offered: none); resolves once it is drawn. */
  function setGhost(id) {
    const option = dance ? dance.ghosts.find((g) => g.id === id) : null;
    const request = ++ghost.request; // a later choice wins over a slow fetch
    ghost.id = option ? option.id : null;
    ui.ghost.value = ghost.id || "";
    if (!option) {
      stage.setGhost(null);
      ghost.shown = null;
      return Promise.resolve(null);
    }
    return loadGhostMotion(option.url).then(
      (motion) => {
        if (request !== ghost.request) return ghost.shown;
        if (motion.joints !== dance.joints) throw new Error(`it has ${motion.joints} joints, not ${dance.joints}`);
        stage.setGhost(motion);
        ghost.shown = option.id;
        return ghost.shown;
      },
    ).catch((err) => {
      if (request !== ghost.request) return ghost.shown;
      showMessage(`Cannot show ${option.label}: ${err.message}`);
      ghost.id = ghost.shown = null;
      ui.ghost.value = "";
      stage.setGhost(null);
      return null;
    });
  }

  /** The ghost menu for a new dance: its options, keeping the chosen ghost while it is offered. */
  function offerGhosts() {
    ui.ghost.replaceChildren();
    ui.el("option", "", ui.ghost, { value: "", textContent: "none" });
    for (const g of dance.ghosts) ui.el("option", "", ui.ghost, { value: g.id, textContent: g.label });
    ui.ghostTools.forEach((node) => (node.hidden = dance.ghosts.length === 0));
    setGhost(ghost.id);
  }

  function showMessage(text) {
    ui.message.textContent = text;
    ui.message.hidden = !text;
  }

  // --- the public player -------------------------------------------------------------------------

  rafId = requestAnimationFrame(tick);

  return {
    load(payload) {
      let next;
      try {
        next = decodePayload(payload);
      } catch (err) {
        showMessage(`Cannot show this dance: ${err.message}`);
        throw err;
      }
      dance = next;
      showMessage("");
      ui.empty.hidden = true;
      if (dance.audio) useAudio(new URL(dance.audio, document.baseURI).href);
      else useInternalClock(dance.duration);
      timeline.setDance(dance);
      timeline.setSelection(dance.selection);
      stage.setDance(dance);
      stage.setHighlighted(dance.keptJoints.filter((j) => dance.selectable.has(j)));
      offerGhosts();
      shown = { frame: -1, time: -1, playing: null };
      if (dance.id !== null) root.dataset.dance = String(dance.id);
      root.dataset.ready = "1";
    },
    setSelection(ranges) {
      timeline.setSelection(ranges || []);
    },
    setHighlightedJoints(indices) {
      stage.setHighlighted((indices || []).filter((j) => !dance || dance.selectable.has(j)));
    },
    setLoop(on) {
      setLoop(Boolean(on));
    },
    setSpeed(rate) {
      setSpeed(Number(rate));
    },
    setView(name) {
      stage.setView(name);
      ui.view.value = stage.view;
    },
    setGhost(id) {
      return setGhost(id || null);
    },
    setGhostBeside(on) {
      ui.besideBox.checked = Boolean(on);
      stage.setGhostBeside(Boolean(on));
    },
    state() {
      const time = clock.time();
      return {
        frame: dance ? frameAt(time) : 0,
        time,
        playing: clock.playing(),
        webgl: stage.webgl,
        body: stage.bodyShown === true,
        frames: dance ? dance.frames : 0,
        fps: dance ? dance.fps : 0,
        selection: timeline.selection(),
        id: dance ? dance.id : null,
        kept: [...stage.kept].sort((a, b) => a - b), // the joints shown as kept
        loop: loop.on,
        speed: Number(ui.speed.value),
        view: stage.view,
        ghost: ghost.shown, // the id of the ghost drawn now, or null
        ghostBeside: ui.besideBox.checked,
      };
    },
    jointScreenPosition(index) {
      return stage.jointScreenPosition(index);
    },
    bodyVertex(index) {
      return stage.bodyVertex ? stage.bodyVertex(index) : null;
    },
    dispose() {
      cancelAnimationFrame(rafId);
      rootListeners.abort();
      resizeObserver.disconnect();
      internalClock.pause();
      ui.audio.pause();
      ui.audio.removeAttribute("src");
      timeline.dispose();
      stage.dispose();
      root.replaceChildren();
      root.classList.remove("dm-player", "dm-silent", "dm-no-webgl");
      for (const key of ["ready", "frame", "time", "dance"]) delete root.dataset[key];
    },
  };
}

/** The 3D stage when WebGL 2 works, else the 2D fallback (also when the renderer fails to start). */
function createStage(container, onPick) {
  const webgl = probeWebgl();
  if (webgl) {
    try {
      return new Stage3D(container, { onPick, software: webgl.software });
    } catch (err) {
      console.warn("DanceMosaic player: WebGL failed, using the 2D view.", err);
    }
  }
  return new Stage2D(container, { onPick });
}

function buildDom(root) {
  root.classList.add("dm-player");
  if (!root.hasAttribute("tabindex")) root.tabIndex = 0;
  root.replaceChildren();
  const el = (tag, className, parent, props = {}) => {
    const node = Object.assign(document.createElement(tag), props);
    if (className) node.className = className;
    parent.appendChild(node);
    return node;
  };
  const stage = el("div", "dm-stage", root);
  const empty = el("div", "dm-empty", stage, { textContent: "No dance yet." });
  const message = el("div", "dm-message", stage, { hidden: true });
  const timelineBox = el("div", "dm-timeline-box", root);
  const bar = el("div", "dm-bar", root);
  const play = el("button", "dm-play", bar, { type: "button", textContent: "▶", title: "Play / pause (space)" });
  const audio = el("audio", "dm-audio", bar, { controls: true, preload: "auto" });
  const time = el("span", "dm-time", bar, { textContent: "0:00.0 / 0:00.0" });
  const tools = el("div", "dm-tools", root);
  const toggle = (className, text, title, checked = false) => {
    const label = el("label", `dm-toggle ${className}`, tools, { title });
    const box = el("input", "", label, { type: "checkbox", checked });
    label.append(` ${text}`);
    return [label, box];
  };
  const speedLabel = el("label", "dm-speed", tools, { title: "Playback speed (the song's pitch is kept)" });
  speedLabel.append("speed ");
  const speed = el("select", "", speedLabel);
  for (const rate of SPEEDS) el("option", "", speed, { value: String(rate), textContent: `${rate}×` });
  speed.value = "1";
  const [, loopBox] = toggle("dm-loop", "loop selection", "Play the selected segment over and over");
  const viewLabel = el("label", "dm-view", tools, { title: "Camera: free orbit, or from the front, side or top" });
  viewLabel.append("view ");
  const view = el("select", "", viewLabel); // options added once the stage says which views it has
  const ghostLabel = el("label", "dm-ghost", tools, {
    title: "Draw another variation or version see-through with this one, to compare (adds no version)",
  });
  ghostLabel.append("ghost ");
  const ghost = el("select", "", ghostLabel);
  const [beside, besideBox] = toggle("dm-ghost-beside", "beside", "Draw the ghost a metre to the side");
  const ghostTools = [ghostLabel, beside];
  ghostTools.forEach((node) => (node.hidden = true)); // until a dance offers a ghost
  const [follow, followBox] = toggle("dm-follow", "follow", "Keep the camera on the dancer", true);
  return {
    el, stage, empty, message, timelineBox, play, audio, time, tools, speed, loopBox, view, ghost, besideBox,
    ghostTools, follow, followBox,
  };
}

function isControl(target) {
  return ["AUDIO", "BUTTON", "INPUT", "SELECT", "TEXTAREA"].includes(target.tagName);
}

/** Add viewer.css once per document (or shadow root), found next to this module. */
function ensureStylesheet(root) {
  const host = root.getRootNode() instanceof ShadowRoot ? root.getRootNode() : document.head;
  if (host.querySelector("link[data-dm-viewer]")) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = new URL("./viewer.css", import.meta.url).href;
  link.dataset.dmViewer = "1";
  host.appendChild(link);
}
