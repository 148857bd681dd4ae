"""The studio's page: song and prompt on the left; player, timeline editing, versions, beats and
exports on the right. Handlers live in ``actions.py``; this file only lays out and wires."""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from dancemosaic.engine import DanceEngine
from dancemosaic.guidance import GuidanceOptions
from dancemosaic.rhythm import BeatOptions
from dancemosaic.sampling import SamplingOptions
from dancemosaic.smpl_mesh import load_smpl_mesh, mesh_payload
from dancemosaic.studio import api
from dancemosaic.studio.actions import ENGINE_LANE, JOINT_CHOICES, PRESETS, Actions, preset_joints
from dancemosaic.studio.demo_songs import DEMO_SONGS, demo_song_paths
from dancemosaic.studio.inspect import build_inspect_tab
from dancemosaic.studio.player import (
    SET_KEPT_JOINTS_JS,
    SET_SELECTION_JS,
    SHOW_CANDIDATE_JS,
    STATIC,
    player_component,
)
from dancemosaic.studio.service import MAX_BEAT_STEPS, MAX_VARIATIONS, Studio
from dancemosaic.studio.session import SessionStore
from dancemosaic.studio.uploads import StudioBlocks, UploadPolicy
from dancemosaic.studio.views import FILE_ROUTE

GENRES = (
    "a person dances salsa", "a person dances ballet", "a person dances hip-hop", "a person dances jazz",
    "a person dances modern dance", "a person dances the cha-cha", "a person dances the rumba",
    "a person dances the tango", "a person dances a waltz", "a person dances energetically",
    "a person jumps", "a person walks",
)  # fmt: skip
NO_CHECKPOINT = (
    "No model checkpoint was found, so generation is off. Train one with "
    "`python -m dancemosaic train --export assets/checkpoints/starter`."
)
EXPORT_LABELS = {
    "bvh": "BVH (Blender, MotionBuilder)", "glb": "glTF binary (animated skeleton)",
    "npz": "SMPL parameters + joints (.npz)", "pkl": "SMPL parameters, AIST++/EDGE style (.pkl)",
    "json": "JSON (segments, provenance)", "mp4": "MP4 video with the song",
}  # fmt: skip


def build_ui(
    engine: DanceEngine | None, store: SessionStore | None = None, demo_folder: Path | None = None,
    smpl_model: Path | None = None,
) -> gr.Blocks:  # fmt: skip
    """The whole page; ``store`` holds the sessions (default: a fresh temporary folder);
    ``smpl_model``: the user's SMPL model file, drawn by the player instead of the mannequin."""
    store = SessionStore() if store is None else store
    gr.set_static_paths([STATIC, store.root])  # the player's code, and each session's song copy
    # Gradio keeps its own copies of uploads and returned files: drop those older than the sessions.
    cache_cleanup = (1800, int(store.ttl))
    demo_folder = demo_folder or store.root / "demo-songs"
    with StudioBlocks(title="DanceMosaic Studio", delete_cache=cache_cleanup) as page:
        uploads = UploadPolicy.for_page(page, demo_folder)  # the files a request may name
        page.upload_policy = uploads  # checked on every event before gradio fetches or copies a file
        gr.Markdown(
            "# DanceMosaic Studio\nUpload a song, describe the dance, generate; then edit it turn by turn."
        )
        with gr.Tab("Studio"):
            if engine is None:
                gr.Markdown(NO_CHECKPOINT)
            else:
                actions = Actions(Studio(engine), store, _publish_mesh(smpl_model, store.root), uploads)
                api.register(actions)  # first, so the public endpoints get the plain names
                kept, view = _studio(actions, demo_folder)
                # The session id stays in the browser (localStorage); a load binds the tab to it.
                page.load(actions.restore, kept, [kept, *view], api_visibility="private")
                page.unload(actions.release)
        with gr.Tab("Check a song or a BVH"):
            build_inspect_tab(uploads)
    return page


def _publish_mesh(smpl_model: Path | None, folder: Path) -> str | None:
    """Write the SMPL mesh where the player can fetch it once; returns its URL."""
    if smpl_model is None:
        return None
    path = folder / "smpl-mesh.json"
    path.write_text(json.dumps(mesh_payload(load_smpl_mesh(smpl_model))))
    return f"{FILE_ROUTE}{path}"


def _studio(actions: Actions, demo_folder: Path) -> tuple[gr.BrowserState, list]:
    """The studio's components and events; returns the browser-kept session id and the views."""
    kept = gr.BrowserState(None, storage_key="dancemosaic-session")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=320):
            song = gr.Audio(type="filepath", label="Song (wav, ogg, flac, mp3)", elem_id="dm-song")
            genre = gr.Dropdown(
                list(GENRES), value=GENRES[0], label="Genre or action", allow_custom_value=True
            )
            text = gr.Textbox(value=GENRES[0], label="Prompt", elem_id="dm-prompt")
            gr.Examples(
                [[str(p), s.prompt] for p, s in zip(demo_song_paths(demo_folder), DEMO_SONGS, strict=True)],
                inputs=[song, text],
                label="Demo songs (synthesised by DanceMosaic)",
                elem_id="dm-demos",
            )
            controls = _controls()
            with gr.Accordion("Start from a BVH take", open=False):
                bvh = gr.File(label="BVH (CMU, CC_Base, Bandai, Mixamo or SMPL names)", file_types=[".bvh"])
                start = gr.Button("Start from this take")
                guide = gr.Checkbox(
                    False,
                    label="Or let the take guide Generate: the joints ticked under Edit, or the whole body",
                )
            length = gr.Number(
                value=None, minimum=0, label="Seconds to dance (empty: the whole song)", elem_id="dm-length",
                info="dance the start of the song now and Extend it later",
            )  # fmt: skip
            generate = gr.Button("Generate", variant="primary", elem_id="dm-generate")
        with gr.Column(scale=2, min_width=480):
            player = player_component()
            summary = gr.Markdown(elem_id="dm-summary")
            with gr.Row():
                undo = gr.Button("↶ Undo", interactive=False, elem_id="dm-undo", size="sm")
                redo = gr.Button("↷ Redo", interactive=False, elem_id="dm-redo", size="sm")
            note = gr.Markdown(elem_id="dm-session")  # when the session expires
            with gr.Row(equal_height=True):
                candidates = gr.Radio(
                    label="Variations: pick one to see it in the player as a ghost beside this one",
                    visible=False, elem_id="dm-candidates", scale=4,
                )  # fmt: skip
                keep = gr.Button("Keep this variation", visible=False, elem_id="dm-keep", scale=1)
            edit = _edit_tab()
            with gr.Tab("Versions"):
                versions = gr.Dataframe(
                    headers=["#", "made by", "length"], interactive=False, elem_id="dm-versions",
                    label="Every version of this session: click one to go back to it",
                )  # fmt: skip
            with gr.Tab("Beats"):
                beats = gr.Plot(label="Beat panel")
            export = _export_tab()

    view = [player, summary, versions, candidates, keep, beats, undo, redo, note, export["file"]]
    lane = {"concurrency_id": ENGINE_LANE, "concurrency_limit": 1, "api_visibility": "private"}
    private = {"api_visibility": "private"}
    genre.change(lambda g: g or gr.skip(), genre, text, **private)
    text.change(genre_of, [text, genre], genre, **private)  # a typed prompt: its genre, or none
    for arrived in (song.upload, song.stop_recording):  # checked on arrival, not at Generate
        arrived(actions.check_song, song, song, **private)
    generating = [song, text, *controls, bvh, guide, edit["joints"], length]
    generate.click(actions.generate, generating, view, **lane)
    start.click(actions.start_from_bvh, [bvh, song, text], view, **private)
    edit["regenerate"].click(
        actions.regenerate, [edit["segments"], edit["text"], edit["joints"], *controls], view, **lane
    )
    edit["instruct"].click(actions.instruct, [edit["segments"], edit["instruction"], *controls], view, **lane)
    edit["extend"].click(
        actions.extend, [edit["seconds"], gr.State(False), edit["text"], *controls], view, **lane
    )
    edit["fill"].click(
        actions.extend, [edit["seconds"], gr.State(True), edit["text"], *controls], view, **lane
    )
    undo.click(actions.undo, None, view, **private)
    redo.click(actions.redo, None, view, **private)
    versions.select(actions.checkout, None, view, **private)
    candidates.input(None, candidates, None, js=SHOW_CANDIDATE_JS)  # a look: no version added
    keep.click(actions.pick, candidates, view, **private)
    render = {"concurrency_id": "render", "concurrency_limit": 2, "api_visibility": "private"}
    export["button"].click(actions.export, export["format"], export["file"], **render)
    export["save"].click(actions.save_project, None, export["file"], **private)
    export["open"].upload(actions.open_project, export["open"], view, **private)
    picks = [edit["segments"], edit["joints"]]
    player.select(actions.player_event, picks, picks, **private)
    edit["segments"].change(None, edit["segments"], None, js=SET_SELECTION_JS)
    edit["joints"].change(None, edit["joints"], None, js=SET_KEPT_JOINTS_JS)
    for label, button in edit["presets"].items():
        button.click(lambda current, label=label: sorted(set(current) | set(preset_joints(label))),
                     edit["joints"], edit["joints"], **private)  # fmt: skip
    edit["clear"].click(lambda: [], None, edit["joints"], **private)
    return kept, view


def genre_of(prompt: str, shown: str | None) -> str | None:
    """The genre the dropdown should show for ``prompt``: the one it is, or none (a prompt of the
    user's own); a skip when the dropdown already shows it, so the two never ping-pong."""
    genre = prompt.strip() if prompt and prompt.strip() in GENRES else None
    return gr.skip() if genre == shown else genre


def _controls() -> list[gr.components.Component]:
    """Seed, steps, guidance weights per modality, temperature, variations, beat sync (in Controls' order)."""
    with gr.Accordion("Guidance and sampling", open=False):
        with gr.Row():
            seed = gr.Number(value=0, precision=0, label="Seed", minimum=0)
            steps = gr.Slider(1, 20, value=10, step=1, label="Decoding steps")
        with gr.Row():
            text_weight = gr.Slider(0, 5, value=GuidanceOptions.text, step=0.1, label="Text guidance")
            music_weight = gr.Slider(0, 5, value=GuidanceOptions.music, step=0.1, label="Music guidance")
            pose_weight = gr.Slider(0, 5, value=GuidanceOptions.pose, step=0.1, label="Pose guidance")
        with gr.Row():
            default = SamplingOptions.temperature
            temperature = gr.Slider(0.1, 2.0, value=default, step=0.05, label="Temperature")
            variations = gr.Slider(1, MAX_VARIATIONS, value=1, step=1, label="Variations")
        beat_steps = gr.Slider(
            0, MAX_BEAT_STEPS, value=BeatOptions.steps, step=5, label="Beat sync",
            info="steps of putting accents on the song's beats (0: off; not with kept joints)",
        )  # fmt: skip
    return [seed, steps, text_weight, music_weight, pose_weight, temperature, variations, beat_steps]


def _edit_tab() -> dict:
    with gr.Tab("Edit"):
        segments = gr.Textbox(
            label="Segments (seconds): drag on the timeline, shift+drag to add, or type",
            placeholder="4-8, 12.5-14", elem_id="dm-segments",
        )  # fmt: skip
        text = gr.Textbox(
            label="Prompt for these segments (empty: keep each segment's prompt)", elem_id="dm-edit-text"
        )
        joints = gr.CheckboxGroup(
            JOINT_CHOICES, label="Joints to keep while the rest regenerates (or click joints in the player)",
            elem_id="dm-joints",
        )  # fmt: skip
        with gr.Row():
            presets = {label: gr.Button(label, size="sm") for label in PRESETS}
            clear = gr.Button("Clear", size="sm")
        regenerate = gr.Button("Regenerate the segments", variant="primary", elem_id="dm-regenerate")
        with gr.Row():
            instruction = gr.Textbox(
                label="Or edit them by description: raise the arms, arms lower, jump, spin, lower the "
                "stance, bigger / smaller movements, travel more, stay in place, faster, slower "
                "('and' combines)",
                placeholder="raise the arms and spin", elem_id="dm-instruction", scale=4,
            )  # fmt: skip
            instruct = gr.Button("Do it", elem_id="dm-instruct", scale=1)
        with gr.Row():
            seconds = gr.Number(value=10, minimum=0.5, label="Seconds to add")
            extend = gr.Button("Extend past the end", elem_id="dm-extend")
            fill = gr.Button("Fill the whole song", elem_id="dm-fill")
    return {"segments": segments, "text": text, "joints": joints, "presets": presets, "clear": clear,
            "regenerate": regenerate, "instruction": instruction, "instruct": instruct, "seconds": seconds,
            "extend": extend, "fill": fill}  # fmt: skip


def _export_tab() -> dict:
    with gr.Tab("Export"):
        fmt = gr.Radio([(label, key) for key, label in EXPORT_LABELS.items()], value="bvh", label="Format")
        button = gr.Button("Export the current version", elem_id="dm-export")
        file = gr.File(label="Download", elem_id="dm-export-file")
        with gr.Row():
            save = gr.Button(
                "Save the project: every version, the songs, the history", elem_id="dm-save-project"
            )
            opened = gr.File(
                label="Open a project file (.zip)", file_types=[".zip"], elem_id="dm-open-project"
            )
    return {"format": fmt, "button": button, "file": file, "save": save, "open": opened}
