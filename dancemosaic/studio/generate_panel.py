"""The studio's generation panel: a song and a prompt in, a dance out as BVH / npz / JSON files.

The 3D player, timeline editing and history arrive with the studio issue; this panel already runs
the shared engine (the starter checkpoint by default) and reports the dance's beat alignment.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from dancemosaic import export, metrics, music
from dancemosaic.dance import Request
from dancemosaic.engine import DanceEngine
from dancemosaic.guidance import GuidanceOptions
from dancemosaic.sampling import SamplingOptions

PRESETS = ("a person dances salsa", "a person dances ballet", "a person dances hip-hop", "a person jumps")


def generate_dance(
    engine: DanceEngine, song: str | None, text: str, seed: float, steps: float, text_weight: float,
    music_weight: float, progress: gr.Progress | None = None,
) -> tuple[str, list[str]]:  # fmt: skip
    """Generate and export; returns a Markdown summary and the written files."""
    if not song:
        raise gr.Error("Upload a song first (wav, ogg, flac or mp3).")
    options = SamplingOptions(
        steps=int(steps), guidance=GuidanceOptions(text=text_weight, music=music_weight)
    )

    def report(fraction: float, message: str) -> None:
        if progress is not None:
            progress(fraction, desc=message)

    try:
        dance = engine.generate(Request(text, song=song, seed=int(seed)), options, report)
    except ValueError as err:
        raise gr.Error(str(err)) from None
    files = export.write_all(dance, Path(tempfile.mkdtemp(prefix="dancemosaic-")), Path(song).stem)
    joints = dance.joints()[:, :22]
    beats = music.music_beats(music.load_audio(song))
    bas = metrics.beat_alignment_score(metrics.motion_beats(joints), beats, num_frames=len(joints) - 1)
    summary = (
        f"**{dance.duration:.1f} s** of dance for *{text}* (seed {int(seed)}); beat alignment BAS {bas:.3f}."
    )
    return summary, [str(f) for f in files]


def build_generate_tab(engine: DanceEngine) -> None:
    with gr.Row():
        with gr.Column():
            song = gr.Audio(type="filepath", label="Song")
            preset = gr.Dropdown(list(PRESETS), label="Genre or action", value=PRESETS[0])
            text = gr.Textbox(label="Prompt", value=PRESETS[0])
            with gr.Row():
                seed = gr.Number(value=0, precision=0, label="Seed")
                steps = gr.Slider(1, 20, value=10, step=1, label="Decoding steps")
            with gr.Row():
                text_weight = gr.Slider(0, 5, value=2.0, step=0.1, label="Text guidance")
                music_weight = gr.Slider(0, 5, value=1.0, step=0.1, label="Music guidance")
            button = gr.Button("Generate", variant="primary")
        with gr.Column():
            summary = gr.Markdown()
            files = gr.File(
                label="Dance (npz with joints and SMPL parameters, BVH, JSON)", file_count="multiple"
            )
    preset.change(lambda p: p, preset, text)

    def run(*args: object, progress: gr.Progress = gr.Progress()) -> tuple[str, list[str]]:  # noqa: B008
        return generate_dance(engine, *args, progress=progress)

    button.click(
        run, [song, text, seed, steps, text_weight, music_weight], [summary, files], api_name="generate"
    )
