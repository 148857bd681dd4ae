"""Start the DanceMosaic studio: `python app.py`, then open http://127.0.0.1:7860.

`python app.py --smpl-model SMPL_NEUTRAL.npz` draws your own SMPL body instead of the mannequin
(SMPL's licence forbids shipping it; also read from $DANCEMOSAIC_SMPL_MODEL).
"""

import argparse
import logging
import os
from pathlib import Path

from dancemosaic.dance import Request
from dancemosaic.engine import DEFAULT_CHECKPOINT, DanceEngine
from dancemosaic.sampling import SamplingOptions
from dancemosaic.studio.demo_songs import demo_song_paths
from dancemosaic.studio.session import SessionStore
from dancemosaic.studio.ui import build_ui
from dancemosaic.studio.views import beat_figure

DEMO_SONGS = Path(__file__).resolve().parent / "cache" / "demo-songs"  # rendered on first start

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smpl-model", type=Path, default=os.environ.get("DANCEMOSAIC_SMPL_MODEL"))
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--requests-per-minute", type=float, default=20.0, help="engine requests per session")
    parser.add_argument(
        "--session-ttl", type=float, default=3 * 3600.0, help="seconds before an idle session ends"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per HTTP request otherwise
    engine = None
    if args.checkpoint.is_dir():  # the starter checkpoint in assets/checkpoints/starter by default
        engine = DanceEngine.from_pretrained(args.checkpoint)
    else:
        logging.warning("no checkpoint at %s: generation is off", args.checkpoint)
    store = SessionStore(ttl=args.session_ttl, requests_per_minute=args.requests_per_minute)
    page = build_ui(engine, store, demo_folder=DEMO_SONGS, smpl_model=args.smpl_model)
    if engine is not None:
        # The first request would otherwise pay for librosa's beat-tracker compile, torch's
        # first-call set-up and plotly's first figure (seconds on a laptop CPU): pay it before
        # serving, not in the page.
        logging.info("warming up the engine")
        warm_up = Request("a person dances", song=demo_song_paths(DEMO_SONGS)[0], duration=10.0)
        beat_figure(engine.generate(warm_up, SamplingOptions(steps=1)), None)
    # A 20-minute song (the engine's limit) as 44.1 kHz stereo WAV is 212 MB.
    page.queue(default_concurrency_limit=4, max_size=64).launch(max_file_size="250mb")
