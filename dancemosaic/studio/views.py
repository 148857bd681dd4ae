"""What the page shows of a session: the player's payload, the version list, the beat panel.

The player payload is JSON for ``static/viewer.js``: joint positions travel as base64 int16
millimetres (6 bytes per joint and frame: a 5-minute dance is about 1.7 MB of text), the song as a
URL under the session folder that the app serves, plus the beat grid and the segments.

Ghosts (other variations, the version this one was made from) travel as URLs of their own payloads,
written once into the session folder: the player fetches one only when the user asks to see it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import weakref
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from scipy.ndimage import gaussian_filter1d

from dancemosaic import metrics, skeleton
from dancemosaic.dance import Dance
from dancemosaic.motion import with_palms
from dancemosaic.smpl_mesh import rotations_payload
from dancemosaic.studio.service import beat_alignment, song_info
from dancemosaic.studio.session import Session
from dancemosaic.timing import FPS

BEAT_SMOOTHING = 5.0  # frames: metrics.motion_beats' default, so the panel shows its curve
FILE_ROUTE = "gradio_api/file="  # relative, so it works under a Space's or a proxy's path prefix
# Each ghost's payload file by the dance it holds (dances never change): a page refresh then costs
# a lookup, not re-encoding every offered motion (about 40 ms for a 3-minute dance).
_ghost_files: dict[int, tuple[weakref.ref, Path]] = {}


def player_payload(
    dance: Dance | None, version: int | None = None, selection: list[tuple[float, float]] = (),
    kept_joints: tuple[int, ...] = (), mesh_url: str | None = None, ghosts: list[dict] = (),
) -> str:  # fmt: skip
    """JSON for the player (an empty string clears it). With ``mesh_url`` (the user's SMPL mesh,
    see ``smpl_mesh.py``) the local joint rotations travel too, for skinning. ``ghosts``: what the
    player may draw beside this dance to compare (``ghost_options``).

    ``selectable`` names the joints a click may keep: the 22 the model generates, as the joint
    picker lists them. The palms (22, 23) are drawn but move with the wrists, so the player does
    not offer them and says why when the pointer is on one."""
    if dance is None:
        return ""
    joints = dance.joints()  # (T, 24, 3) metres
    millimetres = np.clip(np.round(joints * 1000.0), -32768, 32767).astype("<i2")
    beats = song_info(dance.song).beat_frames / FPS if dance.song else np.zeros(0)
    payload = {
        "version": 1,
        "id": f"v{version}" if version is not None else "preview",
        "fps": FPS,
        "frames": len(joints),
        "joints": skeleton.NUM_JOINTS,
        "names": list(skeleton.JOINT_NAMES),
        "parents": list(skeleton.PARENTS),
        "positions": base64.b64encode(millimetres.tobytes()).decode("ascii"),
        "audio": f"{FILE_ROUTE}{Path(dance.song).resolve()}" if dance.song else None,
        "duration": round(dance.duration, 4),
        "beats": [round(float(b), 4) for b in beats],
        "segments": [{"start": s.start, "end": s.end, "text": s.text} for s in dance.segments],
        "blends": [[round(a, 4), round(b, 4)] for a, b in dance.blends],  # where new motion joins old
        "selection": [list(r) for r in selection],
        "kept_joints": list(kept_joints),
        "selectable": list(range(skeleton.NUM_BODY_JOINTS)),
        "ghosts": list(ghosts),
    }
    if mesh_url is not None:
        payload["mesh"] = mesh_url
        payload["rotations"] = rotations_payload(with_palms(dance.motion.rotations))
    return json.dumps(payload, separators=(",", ":"))


def version_rows(session: Session) -> list[list[object]]:
    """One row per version: number, what made it, duration; the current one marked."""
    history = session.history
    return [
        [f"{'▶ ' if i == history.current else ''}{i + 1}", v.label, f"{v.dance.duration:.1f} s"]
        for i, v in enumerate(history.versions)
    ]


def candidate_choices(session: Session) -> list[str]:
    """Labels for the variations of the last request, with each one's beat alignment."""
    labels = []
    for i, dance in enumerate(session.candidates):
        bas = beat_alignment(dance)
        labels.append(f"Candidate {i + 1}" + (f" · BAS {bas:.3f}" if bas is not None else ""))
    return labels


def current_choice(session: Session, choices: list[str]) -> str | None:
    """Of the variations' labels ``choices`` (``candidate_choices``), the current version's."""
    if session.history.current is None:
        return None
    index = next((i for i, d in enumerate(session.candidates) if d is session.history.dance), None)
    return None if index is None else choices[index]


def ghost_options(session: Session, choices: list[str]) -> list[dict]:
    """What the player can draw as a ghost beside the current version, to compare before one is
    kept: the other variations of the last request (labelled ``choices``, from
    ``candidate_choices``) and the version this one was made from.

    Looking adds no version (only ``Studio.pick`` does). Each motion is written once into the
    session's folder, named by its content, and fetched by the player only when it is chosen, so
    the payload stays small however many there are."""
    history = session.history
    if history.current is None:
        return []
    options = [
        (f"c{i + 1}", label, dance)
        for i, (dance, label) in enumerate(zip(session.candidates, choices, strict=True))
        if dance is not history.dance
    ]
    parent = history.versions[history.current].parent
    if parent is not None:
        before = history.versions[parent].dance
        options.append((f"v{parent + 1}", f"Version {parent + 1} (before this one)", before))
    return [{"id": key, "label": label, "url": _motion_url(session, dance)} for key, label, dance in options]


def _motion_url(session: Session, dance: Dance) -> str:
    """URL of ``dance``'s player payload in the session folder (written on first use)."""
    held, path = _ghost_files.get(id(dance), (None, None))
    if held is None or held() is not dance or session.folder not in path.parents or not path.exists():
        text = player_payload(dance)
        path = session.folder / "motions" / f"{hashlib.sha1(text.encode()).hexdigest()[:20]}.json"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        for key in [key for key, (ref, _) in _ghost_files.items() if ref() is None]:
            del _ghost_files[key]  # dances gone with their sessions
        _ghost_files[id(dance)] = (weakref.ref(dance), path)
    return f"{FILE_ROUTE}{path}"


def summary(session: Session, bas: float | None) -> str:
    """Markdown about the current dance, whose beat alignment is ``bas``: one line of figures (the
    kept joints' error is the one measured on the final motion), then what made this version."""
    history = session.history
    if history.current is None:
        return "Upload a song (or pick a demo), describe the dance and press **Generate**."
    dance = history.dance
    parts = [f"**Version {history.current + 1}** of {len(history.versions)}", f"{dance.duration:.1f} s"]
    if bas is not None:
        parts.append(f"beat alignment BAS {bas:.3f}")
    if dance.kept_error is not None:  # measured on the final motion, in world space
        parts.append(f"kept joints within {dance.kept_error * 100:.1f} cm")
    elif dance.pose_distance is not None:
        parts.append(f"{dance.pose_distance * 100:.1f} cm RMS from the guide take")
    return " · ".join(parts) + f"  \n{history.versions[history.current].label}"


def beat_figure(dance: Dance | None, bas: float | None) -> go.Figure | None:
    """Onset strength and music beats against the dance's joint speed and kinematic beats; ``bas``
    is the dance's beat alignment.

    The speed drawn is the curve the kinematic beats are found on (``metrics.motion_beats``: mean
    joint speed smoothed over 5 frames), so every marker sits on one of its dips. It starts at the
    second frame: the step from the first, which the decoder makes at its edge, can be a jump of
    several m/s that dwarfed the whole dance. The markers are drawn last, above the onset and beat
    lines."""
    if dance is None:
        return None
    joints = dance.joints()[:, :22]
    step = np.linalg.norm(np.diff(joints[1:], axis=0), axis=-1).mean(axis=1)  # (T-2,) m per frame
    speed = gaussian_filter1d(step, BEAT_SMOOTHING) * FPS  # m/s, from frame 1 on
    t = np.arange(1, len(speed) + 1) / FPS
    top = max(float(speed.max()), 1e-6)
    figure = go.Figure()
    figure.add_scatter(x=t, y=speed, name="joint speed (m/s)", line={"color": "#2563eb"})
    if dance.song is not None:
        info = song_info(dance.song)
        onset = info.onset_strength[: len(joints)]
        scale = top / max(float(onset.max()), 1e-6)  # onset drawn on the speed axis's scale
        figure.add_scatter(x=np.arange(len(onset)) / FPS, y=onset * scale, name="onset strength (scaled)",
                           line={"color": "#f97316", "width": 1}, opacity=0.6)  # fmt: skip
        # One trace of segments, not a vline shape per beat: shapes cost ~5 ms each to add, which
        # is seconds for a whole song on every refresh.
        beats = info.beat_frames[info.beat_frames < len(joints)] / FPS
        x = np.stack([beats, beats, np.full_like(beats, np.nan)], axis=1).reshape(-1)
        y = np.tile([0.0, top, np.nan], len(beats))
        figure.add_scatter(x=x, y=y, mode="lines", name="music beats", hoverinfo="skip",
                           line={"color": "#9ca3af", "width": 1, "dash": "dot"})  # fmt: skip
    kinematic = metrics.motion_beats(joints[1:], sigma=BEAT_SMOOTHING)  # indices into speed
    marker = {
        "color": "#1d4ed8",
        "symbol": "triangle-down",
        "size": 11,
        "line": {"color": "white", "width": 1},
    }
    figure.add_scatter(x=(kinematic + 1) / FPS, y=speed[kinematic], mode="markers", name="kinematic beats",
                       marker=marker)  # fmt: skip
    title = "Music beats (dotted) and the dance's kinematic beats (▼)"
    if bas is not None:
        title += f": BAS {bas:.3f}"
    margin = {"l": 60, "r": 10, "t": 40, "b": 50}
    figure.update_layout(title=title, height=320, margin=margin, legend={"orientation": "h", "y": -0.35})
    figure.update_xaxes(title_text="time in the song (s)")
    figure.update_yaxes(title_text="joint speed (m/s)", rangemode="tozero")
    return figure
