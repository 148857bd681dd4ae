"""What the studio does, without the web page: generate, edit, extend, pick, undo, redo, export.

Every operation takes a ``Session`` and plain values, asks the shared engine for new dances and,
only once they exist, records them in the session's history, so a failed request leaves the history
as it was. The Gradio page (``ui.py``) and the API endpoints (``api.py``) both call these functions;
errors are ``ValueError``s that say what to change.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from dancemosaic import export, metrics, music
from dancemosaic.dance import Dance, Edit, PoseTarget, Request
from dancemosaic.engine import DanceEngine
from dancemosaic.guidance import GuidanceOptions
from dancemosaic.mocap import import_bvh
from dancemosaic.rhythm import BeatOptions
from dancemosaic.sampling import SamplingOptions
from dancemosaic.studio.gpu import gpu
from dancemosaic.studio.project import read_project, write_project
from dancemosaic.studio.session import Session
from dancemosaic.timing import FPS

Progress = Callable[[float, str], None]
EXPORT_FORMATS = ("bvh", "glb", "npz", "pkl", "json", "mp4")
MAX_VARIATIONS = 4
MAX_BEAT_STEPS = 100
# Each setting's lowest and highest value, by its API argument name, with what it is for the page.
LIMITS: dict[str, tuple[str, float, float]] = {
    "seed": ("random seed", 0, 2**32 - 1),
    "steps": ("decoding steps", 1, 50),
    "text_weight": ("text guidance", 0.0, 10.0),
    "music_weight": ("music guidance", 0.0, 10.0),
    "pose_weight": ("pose guidance", 0.0, 10.0),
    "temperature": ("sampling temperature", 0.1, 2.0),
    "variations": ("candidates to pick from", 1, MAX_VARIATIONS),
    "beat_steps": ("beat sync steps", 0, MAX_BEAT_STEPS),
}
_RANGE = re.compile(r"^\s*(-?\d+(?:\.\d*)?)\s*(?:-|–|to)\s*(-?\d+(?:\.\d*)?)\s*s?\s*$")


@dataclass(frozen=True)
class Controls:
    """The per-request settings on the page: seed, decoding steps, guidance weights, candidates and
    beat refinement steps."""

    seed: int = 0
    steps: int = 10
    text_weight: float = GuidanceOptions.text
    music_weight: float = GuidanceOptions.music
    pose_weight: float = GuidanceOptions.pose
    temperature: float = SamplingOptions.temperature
    variations: int = 1
    beat_steps: int = BeatOptions.steps

    def __post_init__(self) -> None:
        for name, (what, low, high) in LIMITS.items():
            value = getattr(self, name)
            if not low <= value <= high:  # False for NaN too
                raise ValueError(f"{name} ({what}) must be {low}-{high}, not {value}")

    def sampling(self) -> SamplingOptions:
        guidance = GuidanceOptions(text=self.text_weight, music=self.music_weight, pose=self.pose_weight)
        return SamplingOptions(
            steps=self.steps, temperature=self.temperature, guidance=guidance,
            beat=BeatOptions(steps=self.beat_steps),
        )  # fmt: skip


def song_info(path: str | Path) -> music.MusicFeatures:
    """The song's analysis (length, beat grid, onset strength), shared with the engine's cache."""
    return music.analyse_file(path)


QUIET_RMS_DBFS = -50.0  # a song quieter than this on average is near silence: no beat to hear


def song_warning(path: str | Path) -> str | None:
    """Check a song as it arrives. A ValueError for a file that is no usable song (not audio,
    shorter or longer than ``music.load_audio`` allows); a warning for a silent or nearly silent
    one, which can still be danced to (None for a song with sound)."""
    audio = music.load_audio(path)
    level = 20.0 * np.log10(max(float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))), 1e-10))
    if np.abs(audio).max(initial=0.0) >= music.SILENCE_PEAK and level >= QUIET_RMS_DBFS:
        return None
    return (
        f"{Path(path).name} is silent or nearly silent ({max(level, -200.0):.0f} dBFS on average): "
        "the dance will have no beat to follow. Upload the song with its sound, or dance it anyway."
    )


def beat_alignment(dance: Dance) -> float | None:
    """The dance's BAS against its song's beats (None without a song or without beats)."""
    if dance.song is None:
        return None
    beats = song_info(dance.song).beat_frames
    joints = dance.joints()[:, :22]
    score = metrics.dance_bas(joints, beats)
    return None if np.isnan(score) else score


def parse_ranges(text: str) -> list[tuple[float, float]]:
    """``"4-8, 12.5-14"`` -> [(4.0, 8.0), (12.5, 14.0)] seconds."""
    ranges = []
    for part in filter(str.strip, (text or "").split(",")):
        match = _RANGE.match(part)
        if match is None:
            raise ValueError(f"can't read the segment {part.strip()!r}: write start-end in seconds, e.g. 4-8")
        ranges.append((float(match[1]), float(match[2])))
    return ranges


def check_ranges(ranges: list[tuple[float, float]], duration: float) -> list[tuple[float, float]]:
    """Sorted ranges, or a ValueError naming the first one that is empty, inverted, outside the
    dance or overlapping another."""
    if not ranges:
        raise ValueError("select a segment first: drag on the timeline or type start-end seconds, e.g. 4-8")
    for start, end in ranges:
        if start < 0 or end <= start:
            raise ValueError(f"the segment {start:g}-{end:g} s must start at 0 s or later and end after it")
        if start >= duration - 1e-6 or end > duration + 0.05:
            raise ValueError(
                f"the segment {start:g}-{end:g} s reaches past the dance's end ({duration:.1f} s); "
                "use Extend to add dance after the end"
            )
    ordered = sorted(ranges)
    for (a0, a1), (b0, b1) in zip(ordered, ordered[1:], strict=False):
        if b0 < a1:
            raise ValueError(f"the segments {a0:g}-{a1:g} s and {b0:g}-{b1:g} s overlap: merge them")
    return [(start, min(end, duration)) for start, end in ordered]


def store_song(session: Session, upload: str | Path) -> str:
    """Copy an uploaded song into the session's folder (uploads may be cleaned away; the player
    serves the copy) under a name that cannot leave that folder."""
    upload = music.check_audio_path(upload)
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", upload.stem)[:60].strip("_") or "song"
    with disk_errors("the song"):
        folder = session.folder / "songs" / uuid.uuid4().hex[:8]
        folder.mkdir(parents=True)
        target = folder / f"{stem}{upload.suffix.lower()}"
        shutil.copyfile(upload, target)
    return str(target)


@contextmanager
def disk_errors(what: str) -> Iterator[None]:
    """A full or read-only temporary folder becomes a message, not a stack trace."""
    try:
        yield
    except OSError as err:
        raise ValueError(
            f"the server could not store {what} ({err.strerror or err}); try again in a while"
        ) from err


class Studio:
    """The studio's operations over one shared, read-only engine."""

    def __init__(self, engine: DanceEngine) -> None:
        self.engine = engine

    def generate(
        self, session: Session, song: str | Path | None, text: str, controls: Controls,
        duration: float | None = None, pose_bvh: str | Path | None = None, pose_joints: tuple[int, ...] = (),
        progress: Progress | None = None,
    ) -> Dance:  # fmt: skip
        """New dances for a song (or ``duration`` seconds without one); the first becomes current.

        With a song, ``duration`` dances its first seconds only (Extend adds the rest later); the
        label says how much was danced, and when the song is shorter than asked, says so."""
        path = store_song(session, song) if song else None
        request = Request(text, song=path, seed=controls.seed, duration=duration)
        length = song_info(path).seconds if path else duration  # refuses a broken song before decoding
        label = f"Generate: {request.text}"
        if path is not None and duration is not None:
            label = f"Generate 0-{min(length, duration):.1f} s of {length:.1f} s: {request.text}"
            if duration > length + 1.0 / FPS:
                label += f" (the song ends at {length:.1f} s, not {duration:g} s)"
        if duration is not None:
            length = min(length, duration)
        if pose_bvh is not None:
            request = replace(request, pose=_pose_target(pose_bvh, pose_joints, round(length * FPS)))

        def make(seed: int, report: Progress) -> Dance:
            return self.engine.generate(replace(request, seed=seed), controls.sampling(), report)

        # Its version follows the one on screen, so Undo goes back there.
        return self._record(session, make, controls, label, session.history.current, progress)

    def start_from_bvh(self, session: Session, bvh: str | Path, song: str | Path | None, text: str) -> Dance:
        """Make an uploaded BVH the first version (cut to the song's length), ready to edit."""
        motion, _ = import_bvh(bvh)
        path = store_song(session, song) if song else None
        if path is not None:
            motion = motion.slice(0, min(motion.num_frames, round(song_info(path).seconds * FPS)))
        dance = self.engine.dance_from_motion(motion, text, path)
        session.history.push(dance, f"Start from {Path(bvh).name}")
        session.candidates = ()
        return dance

    def edit(
        self, session: Session, ranges: list[tuple[float, float]], text: str | None, joints: tuple[int, ...],
        controls: Controls, progress: Progress | None = None,
    ) -> Dance:  # fmt: skip
        """Regenerate the selected segments of the current dance, keeping ``joints`` where they are."""
        base = session.history.dance
        ranges = check_ranges(ranges, base.duration)
        edits = [Edit(start, end, text or None, tuple(joints), controls.seed) for start, end in ranges]
        span = ", ".join(f"{s:g}-{e:g} s" for s, e in ranges)
        what = f"{len(joints)} joints kept" if joints else (edits[0].text or "same prompt")
        label = f"Regenerate {span}: {what}"

        def make(seed: int, report: Progress) -> Dance:
            dance, blends, errors = base, [], []
            for i, edit in enumerate(edits):
                step = replace(edit, seed=seed)
                dance = self.engine.edit(dance, step, controls.sampling(), _part(report, i, len(edits)))
                blends += dance.blends
                errors += [] if dance.kept_error is None else [dance.kept_error]
            # One version for all the segments: it shows every segment's blend zones and its kept
            # joints' largest measured error.
            return replace(dance, blends=tuple(sorted(blends)), kept_error=max(errors, default=None))

        return self._record(session, make, controls, label, session.history.current, progress)

    def instruct(
        self, session: Session, ranges: list[tuple[float, float]], instruction: str, controls: Controls,
    ) -> tuple[Dance, str]:  # fmt: skip
        """Edit the selected segments by description ("raise the arms and spin"), one version for
        all of them; the message (also in the version's label) is each effect as measured."""
        base = session.history.dance
        ranges = check_ranges(ranges, base.duration)
        session.history.check_room()
        session.rate.take()
        dance, said, blends = base, [], []
        for start, end in ranges:
            dance, message = self.engine.instruct(
                dance, start, end, instruction, controls.seed, controls.sampling()
            )
            said.append(f"{start:g}-{end:g} s: " + message.replace("\n", "; "))
            blends += dance.blends
        dance = replace(dance, blends=tuple(sorted(blends)))
        message = "\n".join(said)
        session.history.push(dance, f"Instruct '{instruction}': " + " | ".join(said))
        session.candidates = ()
        return dance, message

    def extend(
        self, session: Session, seconds: float | None, text: str | None, controls: Controls,
        progress: Progress | None = None,
    ) -> Dance:  # fmt: skip
        """Add ``seconds`` of dance after the end (None: up to the song's end: the whole song).

        The version's label says what was done ("Extend from 20.0 s to 28.7 s") and, when the song
        ends before the length asked for, says so instead of stopping there silently."""
        base = session.history.dance
        song_end = song_info(base.song).seconds if base.song is not None else None
        if seconds is None:
            if song_end is None:
                raise ValueError("this dance has no song: give the seconds to add")
            wanted = song_end
        elif seconds <= 0:
            raise ValueError(f"extend by a positive number of seconds, not {seconds:g}")
        else:
            wanted = base.duration + seconds
        if song_end is not None and base.duration >= song_end - 1.0 / FPS:
            raise ValueError(
                f"the dance already lasts the whole song ({song_end:.1f} s); select a segment to regenerate"
            )
        end = wanted if song_end is None else min(wanted, song_end)
        edit = Edit(base.duration, end, text or None, (), controls.seed)
        verb = "Fill the song" if seconds is None else "Extend"
        label = f"{verb} from {base.duration:.1f} s to {end:.1f} s"
        if end < wanted - 1.0 / FPS:
            label += f" (the song ends at {song_end:.1f} s, not {wanted:.1f} s)"
        label += f": {edit.text or 'same prompt'}"

        def make(seed: int, report: Progress) -> Dance:
            return self.engine.edit(base, replace(edit, seed=seed), controls.sampling(), report)

        return self._record(session, make, controls, label, session.history.current, progress)

    def pick(self, session: Session, index: int) -> Dance:
        """Keep candidate ``index`` of the last request (it becomes a new version)."""
        if not 0 <= index < len(session.candidates):
            raise ValueError(f"there is no candidate {index + 1}; generate variations first")
        dance = session.candidates[index]
        if session.history.current is not None and session.history.dance is dance:
            return dance
        label = f"{session.candidates_label} (candidate {index + 1})"
        session.history.push(dance, label, parent=session.candidates_parent)
        return dance

    def export(self, session: Session, fmt: str, progress: Progress | None = None) -> Path:
        """Write the current dance as ``fmt`` into a fresh folder of the session's; returns the file."""
        fmt = fmt.lower().lstrip(".")
        if fmt not in EXPORT_FORMATS:
            raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
        dance = session.history.dance
        stem = Path(dance.song).stem if dance.song else "dance"
        if fmt == "mp4":
            session.rate.take()  # a video costs seconds to minutes of the server's time
        with disk_errors(f"the {fmt} export"):
            path = session.export_folder() / f"{stem}.{fmt}"
            if fmt == "mp4":
                from dancemosaic import render  # pyrender and OpenGL load only when a video is asked for

                report = with_estimate(progress) if progress is not None else None
                return render.video(dance, path, dance.song, progress=report)
            return export.write(dance, path)

    def save_project(self, session: Session) -> Path:
        """The whole session (every version, the history tree, the songs) as one project file."""
        stem = Path(session.history.dance.song).stem if session.history.dance.song else "dance"
        with disk_errors("the project file"):
            return write_project(session.history, session.export_folder() / f"{stem}-project.zip")

    def open_project(self, session: Session, path: str | Path) -> Dance:
        """Add a project file's versions to the session (nothing it holds is dropped); its current
        version becomes current. Versions another checkpoint made get this model's tokens for
        their motion (their motion stays exactly as it was)."""
        session.history.check_room()
        engine = self.engine
        tokens = engine.model.config.tokenizer
        model = (engine.checkpoint_id, tokens.num_quantizers, tokens.codebook_size)
        with disk_errors("the project's songs"):
            project = read_project(path, session.folder / "songs", model)
        history = project.history
        for i, version in enumerate(history.versions):
            dance = version.dance
            if dance.checkpoint != engine.checkpoint_id:
                codes = engine.dance_from_motion(dance.motion, "a dance").codes
                dance = replace(dance, codes=codes, checkpoint=engine.checkpoint_id)
                history.versions[i] = replace(version, dance=dance)
        session.history.adopt(history)
        session.candidates = ()
        return session.history.dance

    def _record(
        self, session: Session, make: Callable[[int, Progress], Dance], controls: Controls, label: str,
        parent: int | None, progress: Progress | None,
    ) -> Dance:  # fmt: skip
        """Make ``controls.variations`` candidates (seeds seed, seed+1, ...), then record the first
        as a version made from ``parent`` (None: a new dance)."""
        report = progress or (lambda fraction, message: None)
        session.history.check_room()
        session.rate.take()
        n = controls.variations
        dances = make_candidates(make, controls.seed, n, report)
        seeds = f"seed {controls.seed}" if n == 1 else f"seeds {controls.seed}-{controls.seed + n - 1}"
        session.history.push(dances[0], f"{label} ({seeds})", parent=parent)
        session.candidates = dances if n > 1 else ()
        session.candidates_parent, session.candidates_label = parent, label
        return dances[0]


def _pose_target(bvh: str | Path, joints: tuple[int, ...], frames: int) -> PoseTarget:
    """An uploaded take's joint positions as targets for ``joints`` (default: the whole body) over
    the dance's ``frames``; past the take's end nothing is constrained."""
    motion, _ = import_bvh(bvh)
    positions = motion.joints()[:frames]  # (T, 22, 3)
    mask = torch.zeros(frames, positions.shape[1], dtype=torch.bool)
    mask[: len(positions), list(joints) or slice(None)] = True
    pad = frames - len(positions)
    return PoseTarget(torch.cat([positions, positions[-1:].expand(pad, -1, -1)]), mask)


@gpu
def make_candidates(
    make: Callable[[int, Progress], Dance], seed: int, count: int, report: Progress
) -> tuple[Dance, ...]:
    """``count`` dances with seeds ``seed``, ``seed + 1``, ...: the engine work, nothing else."""
    return tuple(make(seed + i, _part(report, i, count)) for i in range(count))


def with_estimate(report: Progress, clock: Callable[[], float] | None = None) -> Progress:
    """``report`` with the time left added to each message, extrapolated from the pace since the
    first report: what came before it (a video loads OpenGL for seconds before its first frame)
    says nothing about the pace. It is said once 2 % and a second have passed since then, so the
    first guess is not a wild one."""
    clock = clock or time.monotonic
    first: list[tuple[float, float]] = []  # (time, fraction) of the first report

    def estimated(fraction: float, message: str) -> None:
        now = clock()
        if not first:
            first.append((now, fraction))
        since, done = now - first[0][0], fraction - first[0][1]
        if done >= 0.02 and since >= 1.0 and fraction < 1.0:
            message = f"{message}, about {_duration(since * (1.0 - fraction) / done)} left"
        report(fraction, message)

    return estimated


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{max(seconds, 1):.0f} s"


def _part(report: Progress, index: int, count: int) -> Progress:
    """Progress of sub-task ``index`` of ``count`` as a fraction of the whole."""
    return lambda fraction, message: report((index + fraction) / count, message)
