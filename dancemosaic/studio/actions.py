"""The page's event handlers: UI values in, the refreshed views out.

Each handler finds the caller's session by Gradio's ``session_hash``, runs one ``Studio`` operation
under the session's lock (a double click cannot interleave two edits) and returns every view the
operation may change. ``ValueError``s become ``gr.Error`` here, in one place, so the page shows
what to change and the session stays as it was.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import time
import types
import typing
from collections.abc import Callable
from typing import Any

import gradio as gr

from dancemosaic.skeleton import BODY_PARTS, JOINT_NAMES, NUM_BODY_JOINTS
from dancemosaic.studio import views
from dancemosaic.studio.service import Controls, Studio, beat_alignment, parse_ranges, song_warning
from dancemosaic.studio.session import Session, SessionStore
from dancemosaic.studio.uploads import UploadPolicy

JOINT_CHOICES = [(name.replace("_", " "), name) for name in JOINT_NAMES[:NUM_BODY_JOINTS]]
PRESETS = {
    "Upper body": "upper_body",
    "Lower body": "lower_body",
    "Arms": "arms",
    "Legs": "legs",
    "Root trajectory": "root_trajectory",
}
ENGINE_LANE = "engine"  # generate and edit share one queue lane: one engine, one request at a time
SERVER_FAULT = "The server failed on this request (it is logged); your versions are unchanged. Try again."
log = logging.getLogger(__name__)


def preset_joints(preset: str) -> list[str]:
    """Joint names of a body-part preset (body joints only: the hands follow the wrists)."""
    return [JOINT_NAMES[i] for i in BODY_PARTS[PRESETS[preset]] if i < NUM_BODY_JOINTS]


def joint_indices(names: list[str] | None) -> tuple[int, ...]:
    """Body-joint indices of ``names``, written as the page shows them ("left hip") or as the
    skeleton names them (``left_hip``), in any case."""
    known = {name: i for i, name in enumerate(JOINT_NAMES[:NUM_BODY_JOINTS])}
    keys = {n: "_".join(n.lower().replace("_", " ").split()) for n in names or []}
    unknown = [n for n, key in keys.items() if key not in known]
    if unknown:
        shown = ", ".join(label for label, _ in JOINT_CHOICES)
        raise ValueError(f"joints: unknown joints {unknown}; pick from {shown} (or left_hip, ...)")
    return tuple(sorted({known[key] for key in keys.values()}))


def user_errors(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Turn bad input into a message for whoever called: an argument of the wrong type (judged by
    the handler's type hints), a ValueError (a value out of range, an impossible edit). Gradio
    sends a ``gr.Error``'s message to the caller, API clients included, and logs no traceback for
    it; any other exception reaches the caller as "The upstream Gradio app has raised an
    exception" with the message only in the log, so nothing else may escape. Anything else is a
    bug or a fault: logged for us, and the caller is told the request failed."""
    signature = inspect.signature(handler)

    @functools.wraps(handler)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            bound = signature.bind(*args, **kwargs)
            hints = _hints(handler)
            for name, value in bound.arguments.items():
                bound.arguments[name] = checked_argument(name, value, hints.get(name))
            return handler(*bound.args, **bound.kwargs)
        except ValueError as err:
            raise gr.Error(str(err), print_exception=False) from None
        except gr.Error:
            raise
        except Exception as err:  # a bug or a fault: log it for us, reassure the user
            log.exception("%s failed", handler.__name__)
            raise gr.Error(SERVER_FAULT, print_exception=False) from err

    return wrapped


def checked_argument(name: str, value: Any, hint: Any) -> Any:
    """``value`` as the plain type ``hint`` names (int, float, str, bool, list[str], or one of
    them or None); a ValueError naming the argument when it is not one. Other hints pass as is."""
    options = (
        typing.get_args(hint)
        if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union
        else (hint,)
    )
    if value is None and type(None) in options:
        return None
    plain = [o for o in options if o in _KINDS or typing.get_origin(o) is list]
    if not plain:
        return value
    kind = plain[0]
    if typing.get_origin(kind) is list:
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return list(value)
        raise ValueError(f"{name} must be a list of names, not {value!r}")
    converted = _KINDS[kind][0](value)
    if converted is None:
        raise ValueError(f"{name} must be {_KINDS[kind][1]}, not {value!r}")
    return converted


def _whole(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if math.isfinite(value) and float(value).is_integer() else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


_KINDS: dict[type, tuple[Callable[[Any], Any], str]] = {
    int: (_whole, "a whole number"),
    float: (_number, "a finite number"),
    str: (lambda v: v if isinstance(v, str) else None, "a string"),
    bool: (lambda v: v if isinstance(v, bool) else None, "true or false"),
}


@functools.cache
def _hints(handler: Callable[..., Any]) -> dict[str, Any]:
    """The handler's type hints, resolved once (on first call: its module is complete by then)."""
    return typing.get_type_hints(handler)


def page_errors(handler: Callable[..., Any]) -> Callable[..., Any]:
    """For the page: a bad request becomes a warning toast saying what to change, and every view
    keeps what it showed (no error badges over the player); a server fault stays an error."""
    checked = user_errors(handler)

    @functools.wraps(handler)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return checked(*args, **kwargs)
        except gr.Error as err:
            if err.message == SERVER_FAULT:
                raise
            gr.Warning(err.message)
            return gr.skip()

    return wrapped


class Actions:
    def __init__(
        self, studio: Studio, store: SessionStore, mesh_url: str | None = None,
        uploads: UploadPolicy | None = None,
    ) -> None:  # fmt: skip
        self.studio = studio
        self.store = store
        self.mesh_url = mesh_url  # the user's SMPL mesh for the player, when they gave one
        # which files a request may name (default: anything in gradio's upload folder)
        self.uploads = uploads or UploadPolicy.for_page()

    def session(self, request: gr.Request) -> Session:
        return self.store.get(request.session_hash or "anonymous")

    @page_errors
    def restore(self, kept: object, request: gr.Request) -> tuple:
        """The page loaded (or reloaded): bind it to the session whose id the browser kept, and
        show that session; a new one (its id for the browser to keep) when none was kept or it has
        expired, which the page is told."""
        session_id, restored = self.store.restore(request.session_hash or "anonymous", kept)
        if kept is not None and not restored:
            gr.Warning(
                f"Your earlier session has expired (sessions are kept {_span(self.store.ttl)} after the "
                "last action) or the server was restarted: this is a new session."
            )
        session = self.session(request)
        with session.lock:
            return session_id, *self.views(session)

    def views(self, session: Session, selection: list[tuple[float, float]] = ()) -> tuple:
        history = session.history
        dance = history.dance if history.current is not None else None
        bas = beat_alignment(dance) if dance is not None else None
        choices = views.candidate_choices(session)
        ghosts = views.ghost_options(session, choices)
        return (
            views.player_payload(dance, history.current, selection, mesh_url=self.mesh_url, ghosts=ghosts),
            views.summary(session, bas),
            views.version_rows(session),
            gr.Radio(choices=choices, value=views.current_choice(session, choices), visible=bool(choices)),
            gr.Button(visible=bool(choices)),  # Keep: a look at a variation adds no version
            views.beat_figure(dance, bas),
            gr.Button(interactive=history.can_undo),
            gr.Button(interactive=history.can_redo),
            self.session_note(session),
            None,  # the Download box empties: the file it held was made from another version
        )

    def session_note(self, session: Session) -> str:
        """When this session expires, and how to keep it longer."""
        left = self.store.expires_in(session)
        until = time.strftime("%H:%M UTC", time.gmtime(time.time() + left))
        return (
            f"This session is kept on the server until {until} ({_span(left)} after your last "
            "action): reloading the page brings it back."
        )

    def run(
        self, request: gr.Request, operation: Callable[[Session], object],
        selection: list[tuple[float, float]] = (),
    ) -> tuple:  # fmt: skip
        """Run ``operation`` on the caller's session; the views after it (``selection`` stays
        highlighted on the timeline)."""
        session = self.session(request)
        with session.lock:
            operation(session)
            return self.views(session, selection)

    @page_errors
    def generate(
        self, song: str | None, text: str, seed: float | None, steps: float, text_weight: float,
        music_weight: float, pose_weight: float, temperature: float, variations: float, beat_steps: float,
        pose_bvh: str | None, guide: bool, pose_joints: list[str], length: float | None,
        request: gr.Request, progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple:  # fmt: skip
        """``length``: seconds to dance from the song's start (empty or 0: the whole song)."""
        song, pose_bvh = self.uploads.check(song), self.uploads.check(pose_bvh, "the BVH take")
        if not song:
            raise ValueError("upload a song first (wav, ogg, flac or mp3), or pick a demo song")
        controls = _controls(
            seed, steps, text_weight, music_weight, pose_weight, temperature, variations, beat_steps
        )
        joints = joint_indices(pose_joints)
        if guide and not pose_bvh:
            raise ValueError("upload a BVH take to guide the dance, or untick 'let the take guide Generate'")
        take = pose_bvh if guide else None
        return self.run(request, lambda s: self.studio.generate(
            s, song, text, controls, float(length) if length else None, pose_bvh=take, pose_joints=joints,
            progress=_report(progress),
        ))  # fmt: skip

    @page_errors
    def check_song(self, song: str | None) -> Any:
        """A song as it arrives in the page: one that cannot be danced is refused now (a message,
        and the song box is emptied so Generate does not meet it again); a silent one is kept
        with a warning."""
        try:
            path = self.uploads.check(song)
            warning = song_warning(path) if path is not None else None
        except ValueError as err:
            gr.Warning(f"This song was not taken: {err}")
            return None
        if warning is not None:
            gr.Warning(warning)
        return gr.skip()

    @page_errors
    def start_from_bvh(self, bvh: str | None, song: str | None, text: str, request: gr.Request) -> tuple:
        bvh, song = self.uploads.check(bvh, "the BVH take"), self.uploads.check(song)
        if not bvh:
            raise ValueError("upload a BVH file to start from")
        return self.run(request, lambda s: self.studio.start_from_bvh(s, bvh, song, text))

    @page_errors
    def regenerate(
        self, segments: str, text: str, joints: list[str], seed: float | None, steps: float,
        text_weight: float, music_weight: float, pose_weight: float, temperature: float, variations: float,
        beat_steps: float, request: gr.Request, progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple:  # fmt: skip
        controls = _controls(
            seed, steps, text_weight, music_weight, pose_weight, temperature, variations, beat_steps
        )
        ranges, kept = parse_ranges(segments), joint_indices(joints)
        return self.run(request, lambda s: self.studio.edit(
            s, ranges, text.strip() or None, kept, controls, _report(progress)
        ), ranges)  # fmt: skip

    @page_errors
    def instruct(
        self, segments: str, instruction: str, seed: float | None, steps: float, text_weight: float,
        music_weight: float, pose_weight: float, temperature: float, variations: float, beat_steps: float,
        request: gr.Request,
    ) -> tuple:  # fmt: skip
        """Edit the segments by description; the version's label says each effect as measured."""
        ranges = parse_ranges(segments)
        controls = _controls(
            seed, steps, text_weight, music_weight, pose_weight, temperature, variations, beat_steps
        )
        return self.run(request, lambda s: self.studio.instruct(s, ranges, instruction, controls), ranges)

    @page_errors
    def extend(
        self, seconds: float | None, whole_song: bool, text: str, seed: float | None, steps: float,
        text_weight: float, music_weight: float, pose_weight: float, temperature: float,
        variations: float, beat_steps: float, request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple:  # fmt: skip
        controls = _controls(
            seed, steps, text_weight, music_weight, pose_weight, temperature, variations, beat_steps
        )
        seconds = None if whole_song else float(seconds or 0)
        return self.run(request, lambda s: self.studio.extend(
            s, seconds, text.strip() or None, controls, _report(progress)
        ))  # fmt: skip

    @page_errors
    def undo(self, request: gr.Request) -> tuple:
        return self.run(request, lambda s: s.history.undo())

    @page_errors
    def redo(self, request: gr.Request) -> tuple:
        return self.run(request, lambda s: s.history.redo())

    @page_errors
    def checkout(self, event: gr.SelectData, request: gr.Request) -> tuple:
        index = event.index[0] if isinstance(event.index, list | tuple) else event.index
        return self.run(request, lambda s: s.history.checkout(int(index)))

    @page_errors
    def pick(self, choice: str | None, request: gr.Request) -> tuple:
        """Keep the variation ``choice`` (a new version). Picking one in the list only shows it in
        the player as a ghost (in the browser), so looks add no version."""
        if not choice:
            raise ValueError("generate with 2 or more variations, then pick one")
        index = int(choice.split()[1]) - 1  # "Candidate 2 · BAS 0.31"
        return self.run(request, lambda s: self.studio.pick(s, index))

    @page_errors
    def export(
        self,
        fmt: str,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> str:
        """The current version as ``fmt``, for the Download box. A GLB is not previewed in a second
        3D view: the player above already shows the same motion, in time with the song."""
        session = self.session(request)
        with session.lock:
            return str(self.studio.export(session, fmt, _report(progress)))

    @page_errors
    def save_project(self, request: gr.Request) -> str:
        """The whole session as one project file, for the Download box."""
        session = self.session(request)
        with session.lock:
            return str(self.studio.save_project(session))

    @page_errors
    def open_project(self, project: str | None, request: gr.Request) -> tuple:
        """Add an uploaded project file's versions to the session; its current one shows."""
        path = self.uploads.check(project, "the project file")
        if path is None:
            raise ValueError("choose a project file (.zip) saved by DanceMosaic Studio")
        return self.run(request, lambda s: self.studio.open_project(s, path))

    @staticmethod
    def player_event(event: gr.EventData, segments: str, joints: list[str]) -> tuple[str, list[str]]:
        """A timeline selection fills the segment box; a joint click toggles it in the picker."""
        data = getattr(event, "_data", None) or {}
        if data.get("kind") == "range":
            return ", ".join(f"{float(a):g}-{float(b):g}" for a, b in data.get("ranges", [])), joints
        if data.get("kind") == "joint" and 0 <= int(data.get("joint", -1)) < NUM_BODY_JOINTS:
            name = JOINT_NAMES[int(data["joint"])]
            joints = [j for j in joints if j != name] if name in joints else [*joints, name]
        return segments, joints

    def release(self, request: gr.Request) -> None:
        """The tab closed or reloaded (gradio cannot tell which): forget the tab, keep the session
        until it expires, so a reload can bring it back."""
        self.store.release(request.session_hash or "anonymous")


def _controls(seed: float | None, steps: float, text_weight: float, music_weight: float, pose_weight: float,
              temperature: float, variations: float, beat_steps: float) -> Controls:  # fmt: skip
    return Controls(int(seed or 0), int(steps), float(text_weight), float(music_weight), float(pose_weight),
                    float(temperature), int(variations), int(beat_steps))  # fmt: skip


def _span(seconds: float) -> str:
    """A stretch of time as people say it: "3 h", "2 h 30 min", "45 min"."""
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h" + (f" {minutes} min" if minutes else "")


def _report(progress: gr.Progress | None) -> Callable[[float, str], None]:
    return lambda fraction, message: progress(fraction, desc=message) if progress is not None else None
