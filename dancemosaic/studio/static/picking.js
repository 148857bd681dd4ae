// Joint picking shared by the 3D and 2D stages: a press that barely moves is a click on the joint
// under the pointer (anything longer is an orbit or a drag); hovering a joint shows its name.

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
        if (j !== null) stage.onPick(j);
      }
      press = null;
    },
    pointermove: (e) => {
      if (e.buttons !== 0 || !stage.dance) return;
      const j = stage._pick(e.clientX, e.clientY);
      stage.canvas.style.cursor = j === null ? "" : "pointer";
      stage.canvas.title = j === null ? "" : stage.dance.names[j];
    },
  };
  for (const [name, handler] of Object.entries(handlers)) stage.canvas.addEventListener(name, handler);
  return handlers;
}
