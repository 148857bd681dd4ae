"""The public API: ``DanceEngine`` loads a checkpoint once and serves generate and edit calls.

The engine is read-only after construction (per-call settings arrive as frozen options), so one
engine can serve many studio sessions at once. Randomness comes only from a ``torch.Generator``
seeded per request: the same inputs give the same dance. On CUDA it runs in bf16 autocast.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from dancemosaic import calming, checkpoint, instructions, music
from dancemosaic.config import ModelConfig
from dancemosaic.dance import Dance, Edit, PoseTarget, Request, Segment
from dancemosaic.editing import CONTEXT_TOKENS, Signals, fill, refine_beats_span, refine_span
from dancemosaic.floor import on_the_floor
from dancemosaic.low_pass import DECODED_SIGMA, low_passed
from dancemosaic.model import DanceModel
from dancemosaic.motion import Motion, resample
from dancemosaic.planted_feet import with_planted_feet
from dancemosaic.pops import without_pops
from dancemosaic.refine import RefineOptions
from dancemosaic.representation import features_to_motion, motion_to_features
from dancemosaic.root_continuity import without_flips
from dancemosaic.sampling import SamplingOptions
from dancemosaic.splice import BLEND_FRAMES, border_zones, carry, joint_drift, speed_jumps, splice
from dancemosaic.steering import SteerOptions, steer_codes
from dancemosaic.text import load_text_encoder
from dancemosaic.timing import FPS, FRAMES_PER_TOKEN, frames_to_tokens, seconds_to_frames

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]
DEFAULT_OPTIONS = SamplingOptions()
DEFAULT_STEER = SteerOptions()
DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "assets" / "checkpoints" / "starter"
# Steering aims under the dance's largest speed jump: the first two jumps the border rule counts
# reach back before the span, where the steering's objective does not look. At the full cap, 8
# of 264 edits of the editing table still went over it (at most 1.04x).
JUMP_CAP_SHARE = 0.9


class DanceEngine:
    def __init__(self, model: DanceModel, checkpoint_id: str, device: str | None = None) -> None:
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = model.to(self.device).eval().requires_grad_(False)
        self.text_encoder = load_text_encoder(model.config.text_encoder)
        if self.text_encoder.dim != model.text_dim:
            raise ValueError(
                f"the checkpoint was trained with {model.text_dim}-d text embeddings; "
                f"{model.config.text_encoder} gives {self.text_encoder.dim}"
            )
        self.checkpoint_id = checkpoint_id
        self._lock = threading.Lock()  # torch modules are not re-entrant on one CPU thread pool

    @classmethod
    def from_config(cls, config: ModelConfig, seed: int = 0) -> DanceEngine:
        """An untrained engine (tests, smoke runs)."""
        torch.manual_seed(seed)
        encoder = load_text_encoder(config.text_encoder)
        return cls(DanceModel(config, encoder.dim), f"random-{seed}")

    @classmethod
    def from_pretrained(
        cls, folder: str | Path = DEFAULT_CHECKPOINT, device: str | None = None
    ) -> DanceEngine:
        folder = Path(folder)
        saved = checkpoint.read_config(folder)
        if not {"model", "text_dim"} <= set(saved) <= {"model", "text_dim", "window"}:
            raise ValueError(f"{folder} is not a DanceMosaic engine checkpoint (it holds {sorted(saved)})")
        model = DanceModel(ModelConfig.from_dict(saved["model"]), saved["text_dim"], saved.get("window"))
        checkpoint.load_weights(model, folder)
        # The config takes part in the dance (its decoding window), so it is part of the identity.
        digest = hashlib.sha256(
            (folder / checkpoint.WEIGHTS).read_bytes() + (folder / checkpoint.CONFIG).read_bytes()
        ).hexdigest()[:12]
        return cls(model, f"{folder.name}-{digest}", device)

    def save_pretrained(self, folder: str | Path, half: bool = True) -> Path:
        return checkpoint.save_module(self.model, Path(folder), self.model.checkpoint_config(), half=half)

    def generate(
        self, request: Request, options: SamplingOptions = DEFAULT_OPTIONS, progress: Progress | None = None
    ) -> Dance:
        frames, features, beats = self._music(request.song, request.duration)
        report = _reporter(progress)
        report(0.05, "music analysed")
        tokens = frames_to_tokens(frames)
        codes = torch.zeros(tokens, self.model.config.tokenizer.num_quantizers, dtype=torch.long)
        signals = Signals(self._text(request.text), features, request.pose, None, beats)
        free = torch.ones(tokens, dtype=torch.bool)
        codes, distance = self._fill(codes, free, signals, options, request.seed, report)
        segments = (Segment(0.0, frames / FPS, request.text),)
        return self._dance(codes, frames, segments, request.song, request, None, distance)

    def edit(
        self,
        dance: Dance,
        edit: Edit,
        options: SamplingOptions = DEFAULT_OPTIONS,
        progress: Progress | None = None,
    ) -> Dance:
        """Regenerate ``edit``'s span of ``dance`` (extending it when the span ends past it)."""
        song_frames, features, beats = self._music(
            dance.song, None if dance.song else max(edit.end, dance.duration)
        )
        frames = max(dance.motion.num_frames, min(seconds_to_frames(edit.end), song_frames))
        if seconds_to_frames(edit.start) >= frames:
            raise ValueError(
                f"the segment starts at {edit.start:g} s, after the song ends ({song_frames / FPS:.1f} s)"
            )
        tokens = frames_to_tokens(frames)
        codes = torch.zeros(tokens, dance.codes.shape[1], dtype=torch.long)
        codes[: len(dance.codes)] = dance.codes
        free = torch.zeros(tokens, dtype=torch.bool)
        free[
            seconds_to_frames(edit.start) // FRAMES_PER_TOKEN : frames_to_tokens(seconds_to_frames(edit.end))
        ] = True
        free[len(dance.codes) :] = True
        text = edit.text or _segment_at(dance.segments, edit.start).text
        pose = self._body_part_target(dance, edit, frames) if edit.joints else None
        root = torch.cat(
            [dance.motion.root, dance.motion.root[-1:].expand(frames - dance.motion.num_frames, 3)]
        )
        signals = Signals(self._text(text), features, pose, root, beats)
        codes, _ = self._fill(codes, free, signals, options, edit.seed, _reporter(progress))
        segments = _segments(
            dance.segments, Segment(edit.start, frames / FPS if edit.end * FPS >= frames else edit.end, text)
        )
        return self._spliced(dance, edit, codes, frames, segments)

    def instruct(
        self,
        dance: Dance,
        start: float,
        end: float,
        instruction: str,
        seed: int = 0,
        options: SamplingOptions = DEFAULT_OPTIONS,
        steer: SteerOptions = DEFAULT_STEER,
    ) -> tuple[Dance, str]:
        """Edit [start, end) seconds of ``dance`` by description ("raise the arms and spin"):
        the dance and what was measured (``instructions.summary``).

        Parts of the instruction that are no known effect regenerate the span with them as its
        prompt. Token effects steer the span's tokens towards their objective (``steering.py``)
        and carry the change onto the current motion; motion effects are exact operations on it;
        an effect that asks for less and still falls short is topped up exactly (``calming.py``);
        the result is spliced into the old dance (nothing moves outside the span, and when only
        some joints may move, the others stay exactly where they were)."""
        parsed = instructions.parse(instruction)
        first, last = seconds_to_frames(start), min(seconds_to_frames(end), dance.motion.num_frames)
        if last - first < FPS // 2:
            raise ValueError(
                f"the segment {start:g}-{end:g} s must lie inside the dance (0-{dance.duration:.1f} s) "
                "and last at least 0.5 s"
            )
        current = dance
        if parsed.unknown:
            current = self.edit(dance, Edit(start, end, " and ".join(parsed.unknown), (), seed), options)
        codes, motion = current.codes, current.motion
        steered = tuple(e for e in parsed.effects if e.method == "tokens")
        if steered:
            codes, motion = self._steer(codes, motion, first, last, steered, steer)
        for effect in parsed.effects:
            if effect.method == "motion":
                motion = instructions.OPERATIONS[effect.name](motion, first, last)
        moving = instructions.moving_joints(parsed.effects) if not parsed.unknown else None
        kept = () if moving is None else tuple(j for j in range(22) if j not in moving)

        def join(candidate: Motion) -> Motion:
            return splice(dance.motion, candidate, first, last, kept).motion

        for effect in steered:  # where the tokens fell short of "less", an exact top-up
            motion = calming.top_up(effect, current.motion, motion, first, last, join)
        joined = splice(dance.motion, motion, first, last, kept)
        text = " and ".join([e.prompt for e in parsed.effects] + list(parsed.unknown))
        edit = Edit(first / FPS, last / FPS, text, (), seed)
        segments = _segments(dance.segments, Segment(edit.start, edit.end, text))
        blends = tuple((a / FPS, b / FPS) for a, b in joined.blends)
        result = Dance(
            joined.motion, codes, segments, dance.song, edit, self.checkpoint_id, dance, blends=blends
        )
        # Against the dance the effects were applied to: after a fallback to the prompt, that is the
        # regenerated span (a spin adds a turn to whatever the new motion turns).
        measured = instructions.outcomes(parsed.effects, current.motion, joined.motion, first, last)
        return result, instructions.summary(measured, parsed.unknown)

    def _steer(
        self, codes: torch.Tensor, motion: Motion, first: int, last: int,
        effects: tuple[instructions.Effect, ...], options: SteerOptions,
    ) -> tuple[torch.Tensor, Motion]:  # fmt: skip
        """Steer the tokens of frames [first, last) towards the effects, in a window with
        CONTEXT_TOKENS of kept context each side, and carry the change (steered decoding against
        the tokens' own decoding) onto ``motion`` (``splice.carry``, faded at the span's borders):
        its details outside the effect stay as they were. The steering is held to speed jumps no
        larger than the dance's largest away from the span's borders (the border rule)."""
        tokens = (first // FRAMES_PER_TOKEN, frames_to_tokens(last))
        window = (max(0, tokens[0] - CONTEXT_TOKENS), min(len(codes), tokens[1] + CONTEXT_TOKENS))
        offset = window[0] * FRAMES_PER_TOKEN
        frames = min((window[1] - window[0]) * FRAMES_PER_TOKEN, motion.num_frames - offset)
        keep = torch.ones(1, window[1] - window[0], dtype=torch.bool)
        keep[0, tokens[0] - window[0] : tokens[1] - window[0]] = False
        start_codes = codes[window[0] : window[1]][None].to(self.device)
        tokenizer = self.model.tokenizer
        with self._lock:
            with torch.no_grad():
                start = decoded_motion(tokenizer.decode(start_codes)[0, :frames].float())
            span = slice(first - offset, last - offset)
            finish = _carrier(motion, start.slice(span.start, span.stop), first, last)
            cap = _largest_jump_away_from_borders(motion, first, last)
            cap = None if cap is None else JUMP_CAP_SHARE * cap
            objective = instructions.objective(effects, start.rotations, start.root, span, finish, cap)
            keep = keep.to(self.device)
            new_codes = steer_codes(
                tokenizer, start_codes, keep, frames, objective, options, decode=steering_decode
            )
        before, after = (
            self._decode(c[0].cpu(), frames).slice(span.start, span.stop) for c in (start_codes, new_codes)
        )
        codes = codes.clone()
        codes[window[0] : window[1]] = new_codes[0].cpu()
        return codes, carry(motion, before, after, first, last)

    def dance_from_motion(self, motion: Motion, text: str, song: str | Path | None = None) -> Dance:
        """Start from an existing motion (an uploaded BVH, a dataset clip): tokenise it."""
        motion = resample(motion, FPS)
        features = motion_to_features(motion)
        with torch.no_grad():
            codes = self.model.tokenizer.encode(features[None].to(self.device))[0].cpu()
        request = Request(text, song=song, duration=None if song else motion.duration)
        segments = (Segment(0.0, motion.duration, request.text),)
        # The take itself, not its tokens' decoding: the tokens are context for later edits, and
        # what the user brought stays exactly as it was outside them.
        return Dance(motion, codes, segments, str(song) if song else None, request, self.checkpoint_id)

    def _fill(
        self, codes: torch.Tensor, free: torch.Tensor, signals: Signals, options: SamplingOptions, seed: int,
        report: Callable[[float, str], None],
    ) -> tuple[torch.Tensor, float | None]:  # fmt: skip
        generator = torch.Generator().manual_seed(seed)
        beat = _refines_beats(signals, options)
        decoding = 0.5 if beat else 0.9  # on a CPU, beat refinement takes about as long as decoding
        with self._lock, torch.no_grad(), self._autocast():
            codes = fill(
                self.model,
                codes,
                free,
                signals,
                options,
                generator,
                lambda f: report(0.05 + decoding * f, "decoding"),
            )
        distance = None
        if signals.pose is not None:
            with self._lock:
                refine = RefineOptions(steps=options.refine_steps)
                codes, squared = refine_span(self.model, codes, free, signals, refine)
                distance = squared**0.5
        elif beat:
            with self._lock:
                codes = refine_beats_span(
                    self.model, codes, free, signals.beats, options.beat,
                    lambda f: report(0.55 + 0.4 * f, "putting steps on the beat"),
                )  # fmt: skip
        report(0.95, "tokens decided")
        return codes, distance

    def _dance(
        self, codes: torch.Tensor, frames: int, segments: tuple[Segment, ...], song: str | Path | None,
        request: Request | Edit, parent: Dance | None, distance: float | None,
    ) -> Dance:  # fmt: skip
        motion = self._decode(codes, frames)
        return Dance(
            motion,
            codes,
            segments,
            str(song) if song else None,
            request,
            self.checkpoint_id,
            parent,
            distance,
        )

    def _decode(self, codes: torch.Tensor, frames: int) -> Motion:
        with torch.no_grad():
            features = self.model.tokenizer.decode(codes[None].to(self.device))[0, :frames].float().cpu()
        return decoded_motion(features)

    def _spliced(
        self, dance: Dance, edit: Edit, codes: torch.Tensor, frames: int, segments: tuple[Segment, ...]
    ) -> Dance:
        """The edited dance: the new codes' decoding spliced into ``dance``'s motion over the
        edit's frames (``splice.py``), with its blend zones and the kept joints' measured drift."""
        old = dance.motion
        start = min(seconds_to_frames(edit.start), old.num_frames)
        end = min(max(seconds_to_frames(edit.end), start + 1), frames)
        # An extension's blend zone ends at the old end: the old dance's last frames were decoded
        # against the end of the sequence and jerk (speed jumps of 2-3x the dance's largest on the
        # starter), where the new decoding continues them smoothly.
        blend_from = min(start, max(0, old.num_frames - BLEND_FRAMES)) if end > old.num_frames else start
        joined = splice(old, self._decode(codes, frames), blend_from, end, edit.joints)
        kept_error = None
        if edit.joints and start < old.num_frames:
            drift = joint_drift(old, joined.motion, edit.joints, start, min(end, old.num_frames))
            kept_error = float(drift.max())
        blends = tuple((a / FPS, b / FPS) for a, b in joined.blends)
        return Dance(
            joined.motion, codes, segments, dance.song, edit, self.checkpoint_id, dance,
            blends=blends, kept_error=kept_error,
        )  # fmt: skip

    def _music(
        self, song: str | Path | None, duration: float | None
    ) -> tuple[int, torch.Tensor | None, np.ndarray | None]:
        """Frames of the dance, the song's features and the beats it is danced on (None without a
        song): every beat, or every other one for fast songs (``music.danced_beats``)."""
        if song is None:
            return seconds_to_frames(duration), None, None
        path = Path(song)
        if not path.is_file():
            raise ValueError(f"song not found: {path}")
        analysis = music.danced_beats(music.analyse_file(path))
        features = torch.from_numpy(analysis.features)
        frames = len(features) if duration is None else min(len(features), seconds_to_frames(duration))
        return frames, features[:frames], analysis.beat_frames[analysis.beat_frames < frames]

    def _text(self, text: str) -> torch.Tensor:
        return self.text_encoder.encode([text])[0]

    def _body_part_target(self, dance: Dance, edit: Edit, frames: int) -> PoseTarget:
        """Keep ``edit.joints`` where they are in the current dance, over the edited span."""
        joints = dance.motion.joints()
        joints = torch.cat([joints, joints[-1:].expand(frames - len(joints), -1, -1)])
        mask = torch.zeros(frames, 22, dtype=torch.bool)
        mask[
            seconds_to_frames(edit.start) : min(dance.motion.num_frames, seconds_to_frames(edit.end)),
            list(edit.joints),
        ] = True
        return PoseTarget(joints, mask)

    def _autocast(self) -> torch.autocast:
        if self.device == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return torch.autocast("cpu", enabled=False)


def decoded_motion(features: torch.Tensor) -> Motion:
    """(T, FEATURE_DIM) decoded features -> the motion the engine returns. Differentiable: token
    steering optimises its objective through it (``steering_decode``)."""
    motion, flips = without_flips(features_to_motion(features, FPS))
    motion, pops = without_pops(motion)
    if flips or pops:
        log.debug("took %d whole-body flips and %d popping frames out of the decoding", flips, pops)
    return with_planted_feet(on_the_floor(low_passed(motion, DECODED_SIGMA)))


def steering_decode(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T, FEATURE_DIM) -> rotations (B, T, 22, 3, 3) and root (B, T, 3) as ``decoded_motion``
    makes them: what token steering measures is what the dance will be."""
    motions = [decoded_motion(one) for one in features]
    return torch.stack([m.rotations for m in motions]), torch.stack([m.root for m in motions])


def _carrier(motion: Motion, before: Motion, first: int, last: int) -> instructions.Finish:
    """The steering's view of the dance: a span's new decoding -> ``motion`` over frames
    [first, last) once ``splice.carry`` has carried the change from ``before`` onto it (with one
    frame of the dance each side, so it fades at the borders as the edit will)."""
    inside = (int(first > 0), int(last < motion.num_frames))
    around = motion.slice(first - inside[0], last + inside[1])
    around = Motion(around.rotations.to(before.root.device), around.root.to(before.root.device), motion.fps)

    def finish(rotations: torch.Tensor, root: torch.Tensor) -> Motion:
        carried = carry(
            around, before, Motion(rotations, root, motion.fps), inside[0], inside[0] + last - first
        )
        return carried.slice(inside[0], inside[0] + last - first)

    return finish


def _largest_jump_away_from_borders(motion: Motion, first: int, last: int) -> float | None:
    """The dance's largest speed jump (m/s) away from the blend zones an edit of frames
    [first, last) will have: what the edit may not exceed at them (``splice.border_jump_ratio``
    at most 1). None when the dance is too short to say."""
    jumps = speed_jumps(motion.joints().numpy())
    away = np.ones(len(jumps), dtype=bool)
    for start, end in border_zones(first, last, motion.num_frames):
        away[max(0, start - 2) : end + 1] = False  # as border_jump_ratio marks them
    return float(jumps[away].max()) if away.sum() >= FPS // 2 else None


def _refines_beats(signals: Signals, options: SamplingOptions) -> bool:
    """Beat refinement needs a song with beats; it is skipped with pose targets, because moving the
    accents would pull the kept joints off their targets."""
    has_beats = signals.beats is not None and len(signals.beats) > 0
    return signals.pose is None and has_beats and options.beat.steps > 0


def _reporter(progress: Progress | None) -> Callable[[float, str], None]:
    return progress or (lambda fraction, message: None)


def _segment_at(segments: tuple[Segment, ...], seconds: float) -> Segment:
    """The segment playing at ``seconds`` (the last one past the dance's end)."""
    return next((s for s in segments if s.start <= seconds < s.end), segments[-1])


def _segments(old: tuple[Segment, ...], new: Segment) -> tuple[Segment, ...]:
    """The segment list with ``new`` laid over it (old segments cut where they overlap)."""
    out = []
    for seg in old:
        if seg.end <= new.start or seg.start >= new.end:
            out.append(seg)
            continue
        if seg.start < new.start:
            out.append(Segment(seg.start, new.start, seg.text))
        if seg.end > new.end:
            out.append(Segment(new.end, seg.end, seg.text))
    return tuple(sorted([*out, new], key=lambda s: s.start))
