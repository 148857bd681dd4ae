"""The 3D player as a Gradio component: a ``gr.HTML`` that loads ``static/viewer.js``.

The template is constant, so Gradio never re-renders the player's DOM; new dances arrive as the
component's value (the JSON from ``views.player_payload``) and ``watch`` hands them to the player.
Joint clicks and timeline selections come back to Python as ``select`` events carrying
``{"kind": "joint", "joint": i}`` or ``{"kind": "range", "ranges": [[start, end], ...]}``.
"""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from dancemosaic.skeleton import JOINT_NAMES
from dancemosaic.studio.views import FILE_ROUTE

STATIC = Path(__file__).resolve().parent / "static"
ELEM_ID = "dm-player"

_LOADER = """
const base = new URL(props.asset_base + "/", document.baseURI).href;
if (!document.querySelector(`link[href="${base}viewer.css"]`)) {
  const css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = base + "viewer.css";
  document.head.appendChild(css);
}
const host = element.querySelector(".dm-player-host");
import(base + "viewer.js").then(({ createPlayer }) => {
  const player = createPlayer(host, {
    onJointClick: (index, name) => trigger("select", { kind: "joint", joint: index, name }),
    onSelect: (ranges) => trigger("select", { kind: "range", ranges }),
  });
  element.dmPlayer = player;
  window.dancemosaicPlayer = player;  // for the joint picker's and segment box's listeners
  const show = () => { if (props.value) player.load(JSON.parse(props.value)); };
  show();
  watch("value", show);
}).catch((err) => {
  host.textContent = "The 3D player could not load: " + err;
});
"""


def player_component() -> gr.HTML:
    return gr.HTML(
        value="",
        html_template='<div class="dm-player-host"></div>',
        js_on_load=_LOADER,
        elem_id=ELEM_ID,
        min_height=500,
        asset_base=f"{FILE_ROUTE}{STATIC}",
    )


# JavaScript-only listeners: the page tells the player about selections typed into the segment box
# and joints ticked in the picker, without a round trip through Python.
SET_SELECTION_JS = """(text) => {
  const ranges = (text || "").split(",").map((part) => part.split(/-|–|to/).map(Number))
    .filter((r) => r.length === 2 && r.every(Number.isFinite) && r[1] > r[0]);
  window.dancemosaicPlayer?.setSelection(ranges);
}"""
# A variation picked in the list is shown as the player's ghost ("Candidate 2 · BAS 0.31" -> "c2");
# the current version's own variation is not a ghost, so picking it clears the ghost.
SHOW_CANDIDATE_JS = """(choice) => {
  const number = /^Candidate (\\d+)/.exec(choice || "");
  window.dancemosaicPlayer?.setGhost(number ? `c${number[1]}` : null);
}"""
SET_KEPT_JOINTS_JS = f"""(names) => {{
  const all = {json.dumps(JOINT_NAMES)};
  const ids = (names || []).map((n) => all.indexOf(n)).filter((i) => i >= 0);
  window.dancemosaicPlayer?.setHighlightedJoints(ids);
}}"""
