"""Named API endpoints (``gr.api``) for scripts and ``gradio_client``: everything the page can do.

They share the page's session store: a ``gradio_client.Client`` is one session, with its own
history, so ``/generate`` then ``/edit`` then ``/undo`` build on each other exactly as clicks do.
Each endpoint returns ``state``: the current version, its segments and beat alignment, and the
version list.

    client = Client("http://127.0.0.1:7860/")
    client.predict(handle_file("song.wav"), "a person dances salsa", api_name="/generate")
    client.predict("4-8", "a person jumps", api_name="/edit")
    client.predict("bvh", api_name="/export")   # -> a local path to the downloaded file
    client.predict(api_name="/save_project")      # -> the whole session as a project file (.zip)
    client.predict(handle_file("song-project.zip"), api_name="/open_project")
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from dancemosaic.guidance import GuidanceOptions
from dancemosaic.rhythm import BeatOptions
from dancemosaic.sampling import SamplingOptions
from dancemosaic.studio.actions import ENGINE_LANE, Actions, joint_indices, user_errors
from dancemosaic.studio.service import Controls, beat_alignment, parse_ranges
from dancemosaic.studio.session import Session


def state(session: Session) -> dict[str, Any]:
    history = session.history
    if history.current is None:
        return {"version": None, "versions": [], "can_undo": False, "can_redo": False}
    dance = history.dance
    return {
        "version": history.current + 1,
        "versions": [v.label for v in history.versions],
        "duration": round(dance.duration, 3),
        "segments": [{"start": s.start, "end": s.end, "text": s.text} for s in dance.segments],
        "made_by": history.versions[history.current].label,  # says what an extend did, or could not
        "blends": [list(zone) for zone in dance.blends],  # seconds where an edit's new motion joins the old
        "kept_error_cm": None if dance.kept_error is None else round(dance.kept_error * 100, 2),
        "bas": beat_alignment(dance),
        "candidates": len(session.candidates),
        "can_undo": history.can_undo,
        "can_redo": history.can_redo,
    }


def register(actions: Actions) -> None:
    """Add the endpoints to the Blocks being built."""
    studio = actions.studio

    def call(request: gr.Request, operation: Any) -> dict[str, Any]:
        session = actions.session(request)
        with session.lock:
            operation(session)
            return state(session)

    def generate(
        song: gr.FileData, text: str, request: gr.Request, seed: int = 0, steps: int = 10,
        text_weight: float = GuidanceOptions.text, music_weight: float = GuidanceOptions.music,
        temperature: float = SamplingOptions.temperature, variations: int = 1, duration: float | None = None,
        beat_steps: int = BeatOptions.steps,
    ) -> dict[str, Any]:  # fmt: skip
        """Generate a dance for a song; it becomes this session's current version. ``beat_steps``
        of beat refinement put the dance's accents on the song's beats (0: off)."""
        controls = Controls(
            seed, steps, text_weight, music_weight, temperature=temperature, variations=variations,
            beat_steps=beat_steps,
        )  # fmt: skip
        return call(request, lambda s: studio.generate(
            s, actions.uploads.check(song), text, controls, duration=duration
        ))  # fmt: skip

    def edit(
        segments: str, request: gr.Request, text: str = "", joints: list[str] | None = None, seed: int = 0,
        steps: int = 10, variations: int = 1, beat_steps: int = BeatOptions.steps,
    ) -> dict[str, Any]:  # fmt: skip
        """Regenerate segments ("4-8, 12-14" seconds), optionally with a new prompt, keeping ``joints``."""
        controls = Controls(seed, steps, variations=variations, beat_steps=beat_steps)
        return call(request, lambda s: studio.edit(
            s, parse_ranges(segments), text.strip() or None, joint_indices(joints), controls
        ))  # fmt: skip

    def extend(
        request: gr.Request, seconds: float | None = None, text: str = "", seed: int = 0,
        beat_steps: int = BeatOptions.steps,
    ) -> dict[str, Any]:  # fmt: skip
        """Add ``seconds`` of dance after the end (none: dance to the end of the song)."""
        controls = Controls(seed, beat_steps=beat_steps)
        return call(request, lambda s: studio.extend(s, seconds, text.strip() or None, controls))

    def instruct(segments: str, instruction: str, request: gr.Request, seed: int = 0) -> dict[str, Any]:
        """Edit segments ("4-8" seconds) by description, e.g. "raise the arms and spin"; ``made_by``
        says each effect as measured on the result (and what fell back to the prompt)."""
        return call(
            request, lambda s: studio.instruct(s, parse_ranges(segments), instruction, Controls(seed))
        )

    def undo(request: gr.Request) -> dict[str, Any]:
        """Go back to the version the current one was made from."""
        return call(request, lambda s: s.history.undo())

    def redo(request: gr.Request) -> dict[str, Any]:
        """Return to the version undone last."""
        return call(request, lambda s: s.history.redo())

    def pick(candidate: int, request: gr.Request) -> dict[str, Any]:
        """Keep variation ``candidate`` (1-based) of the last request."""
        return call(request, lambda s: studio.pick(s, candidate - 1))

    def history(request: gr.Request) -> dict[str, Any]:
        """This session's versions and the current one."""
        return call(request, lambda s: None)

    def export(fmt: str, request: gr.Request) -> gr.FileData:
        """The current version as bvh, glb, npz, pkl, json or mp4."""
        session = actions.session(request)
        with session.lock:
            return gr.FileData(path=str(studio.export(session, fmt)))

    def save_project(request: gr.Request) -> gr.FileData:
        """This session as one project file: every version, the songs, the history tree."""
        session = actions.session(request)
        with session.lock:
            return gr.FileData(path=str(studio.save_project(session)))

    def open_project(project: gr.FileData, request: gr.Request) -> dict[str, Any]:
        """Add a project file's versions to this session; its current version becomes current."""
        path = actions.uploads.check(project, "the project file")
        if path is None:
            raise ValueError("give a project file (.zip) saved by DanceMosaic Studio")
        return call(request, lambda s: studio.open_project(s, path))

    # user_errors: a bad argument, of any endpoint, is a message the caller reads
    for fn in (generate, edit, extend, instruct):
        gr.api(user_errors(fn), api_name=fn.__name__, concurrency_id=ENGINE_LANE, concurrency_limit=1)
    for fn in (undo, redo, pick, history, export, save_project, open_project):
        gr.api(user_errors(fn), api_name=fn.__name__)
