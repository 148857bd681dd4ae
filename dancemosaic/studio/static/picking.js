// Joint picking shared by the 3D and 2D stages: a press that barely moves is a click on the joint
// under the pointer (anything longer is an orbit or a drag); hovering a joint shows its name.
// Only the dance's selectable joints (``dance.selectable``) are offered: hovering another one (the
// palms, which move with the wrists) shows no pointer and says which joint it moves with, and a
// click on it does nothing.

export const CLICK_SLOP = 4; // pointer movement (px) below which a press is a click, not a drag

/**
 * Listen on `stage.canvas` for joint clicks, reported as `stage.onPick(j)`; `stage._pick(x, y)`
 * gives the joint under client coordinates or null. Returns the handlers, for removal on dispose.
 */
export function listenForJointClicks(stage) {
  let press = null;
  const handlers = {
    pointerdown: (e) => (press = { x: e.clientX, y: e.clientY }),
    pointerup: (e) => {
      if (press && Math.hypot(e.clientX - press.x, e.clientY - press.y) < CLICK_SLOP) {
        const j = stage._pick(e.clientX, e.clientY);
        if (j !== null && stage.dance.selectable.has(j)) stage.onPick(j);
      }
      press = null;
    },
    pointermove: (e) => {
      if (e.buttons !== 0 || !stage.dance) return;
      const j = stage._pick(e.clientX, e.clientY);
      const offered = j !== null && stage.dance.selectable.has(j);
      stage.canvas.style.cursor = offered ? "pointer" : "";
      stage.canvas.title = j === null ? "" : offered ? label(stage.dance, j) : notOffered(stage.dance, j);
    },
  };
  for (const [name, handler] of Object.entries(handlers)) stage.canvas.addEventListener(name, handler);
  return handlers;
}

const label = (dance, j) => dance.names[j].replaceAll("_", " ");

/** Why joint j cannot be kept: it moves with its nearest selectable ancestor (a palm: the wrist). */
function notOffered(dance, j) {
  let holder = dance.parents[j];
  while (holder >= 0 && !dance.selectable.has(holder)) holder = dance.parents[holder];
  if (holder < 0) return `${label(dance, j)} is not generated, so it cannot be kept`;
  return `${label(dance, j)} moves with the ${label(dance, holder)}: it is not generated, so it ` +
    `cannot be kept on its own (keep the ${label(dance, holder)})`;
}
