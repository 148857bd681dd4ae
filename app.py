"""Start the DanceMosaic studio: `python app.py`, then open http://127.0.0.1:7860."""

from dancemosaic.studio.inspect import build_ui

if __name__ == "__main__":
    build_ui().queue(default_concurrency_limit=2).launch()
