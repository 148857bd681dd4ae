"""How long music analysis takes, and what tempo it finds, on a synthetic and on real songs.

    python benchmarks/music_speed.py [--json] [--music-dir DIR] [--seconds 180]

Measures, in one fresh process: importing the music module (librosa and its dependencies), the first
``extract_features`` call (which also compiles librosa's numba beat tracker: librosa does not cache
that compilation on disk, so every new process pays it once), a second, warm call on the same
synthetic song, then ``load_audio`` + ``extract_features`` on every .ogg/.wav/.flac/.mp3 in
``--music-dir`` with the tempo found. The target is a 3-minute song in under 5 s on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

DEFAULT_MUSIC_DIR = Path("/work/shared/data/music")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, not installed


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def measure(music_dir: Path, seconds: float, bpm: float) -> dict:
    start = time.perf_counter()
    from dancemosaic import music, percussion  # imported here so the import itself is measured

    report: dict = {"import_s": time.perf_counter() - start}
    (audio, _), synth_s = _timed(percussion.synthesize, bpm, seconds, "four_on_floor", 0)
    cold, cold_s = _timed(music.extract_features, audio)
    warm, warm_s = _timed(music.extract_features, audio)
    report["synthetic"] = {
        "seconds": seconds,
        "true_bpm": bpm,
        "synthesize_s": synth_s,
        "features_first_call_s": cold_s,
        "features_warm_s": warm_s,
        "tempo_bpm": warm.tempo_bpm,
        "frames": cold.num_frames,
    }
    report["songs"] = [_song(music, path) for path in _songs(music_dir)]
    return report


def _songs(music_dir: Path) -> list[Path]:
    if not music_dir.is_dir():
        return []
    return sorted(p for p in music_dir.iterdir() if p.suffix.lower() in (".ogg", ".wav", ".flac", ".mp3"))


def _song(music, path: Path) -> dict:
    audio, load_s = _timed(music.load_audio, path)
    feats, features_s = _timed(music.extract_features, audio)
    return {
        "name": path.name,
        "seconds": len(audio) / music.SAMPLE_RATE,
        "load_s": load_s,
        "features_s": features_s,
        "tempo_bpm": feats.tempo_bpm,
        "beats": len(feats.beat_frames),
    }


def _print_text(report: dict) -> None:
    synth = report["synthetic"]
    print(f"import music module: {report['import_s']:.2f} s")
    print(
        f"synthetic {synth['seconds']:.0f} s song at {synth['true_bpm']:g} BPM: synthesise "
        f"{synth['synthesize_s']:.2f} s, features first call {synth['features_first_call_s']:.2f} s, "
        f"warm {synth['features_warm_s']:.2f} s, tempo {synth['tempo_bpm']:.2f} BPM"
    )
    for song in report["songs"]:
        print(
            f"{song['name']}: {song['seconds']:.1f} s long, load {song['load_s']:.2f} s, "
            f"features {song['features_s']:.2f} s, tempo {song['tempo_bpm']:.2f} BPM, {song['beats']} beats"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--music-dir", type=Path, default=DEFAULT_MUSIC_DIR)
    parser.add_argument("--seconds", type=float, default=180.0, help="length of the synthetic song")
    parser.add_argument("--bpm", type=float, default=128.0, help="tempo of the synthetic song")
    args = parser.parse_args()
    report = measure(args.music_dir, args.seconds, args.bpm)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_text(report)


if __name__ == "__main__":
    main()
