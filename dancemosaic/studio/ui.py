"""The studio's page: generation with the shared engine, and file checks."""

from __future__ import annotations

import gradio as gr

from dancemosaic.engine import DanceEngine
from dancemosaic.studio.generate_panel import build_generate_tab
from dancemosaic.studio.inspect import build_inspect_tab

NO_CHECKPOINT = (
    "No model checkpoint was found, so generation is off. Train one with "
    "`python -m dancemosaic train --export assets/checkpoints/starter`."
)


def build_ui(engine: DanceEngine | None) -> gr.Blocks:
    with gr.Blocks(title="DanceMosaic Studio") as ui:
        gr.Markdown("# DanceMosaic Studio\nUpload a song, describe the dance, generate.")
        with gr.Tab("Generate"):
            if engine is None:
                gr.Markdown(NO_CHECKPOINT)
            else:
                build_generate_tab(engine)
        with gr.Tab("Check a song or a BVH"):
            build_inspect_tab()
    return ui
