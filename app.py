"""Start the DanceMosaic studio: `python app.py`, then open http://127.0.0.1:7860."""

import logging

from dancemosaic.engine import DEFAULT_CHECKPOINT, DanceEngine
from dancemosaic.studio.ui import build_ui

if __name__ == "__main__":
    engine = None
    if DEFAULT_CHECKPOINT.is_dir():  # the starter checkpoint in assets/checkpoints/starter
        engine = DanceEngine.from_pretrained(DEFAULT_CHECKPOINT)
    else:
        logging.warning("no checkpoint at %s: generation is off", DEFAULT_CHECKPOINT)
    build_ui(engine).queue(default_concurrency_limit=1).launch()
