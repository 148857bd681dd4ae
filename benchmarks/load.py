"""Load: N concurrent gradio_client sessions against a running studio, for several minutes.

    python benchmarks/load.py [--clients 8] [--minutes 3] [--json]

Starts `python app.py` (starter checkpoint; sessions expire after --session-ttl seconds idle so
that memory stays bounded; the per-session rate limit is raised so the clients measure the server,
not the limit). Each client repeats a cycle as a fresh session: generate (its own seed) -> edit a
segment -> undo -> redo -> export BVH. Reports throughput, p50/p95 latency per step, errors (target
0), the server's resident memory over time, and a leak check: afterwards, a few cycles are replayed
alone, one at a time, and their exported BVH files must be byte-identical to the ones made under
load (each session's dances depend only on its own requests and seeds).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import soundfile
from gradio_client import Client, handle_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dancemosaic import percussion  # noqa: E402

URL = "http://127.0.0.1:7860/"


def cycle(song: Path, seed: int, timings: dict[str, list[float]]) -> str:
    """One session's work; returns the SHA-256 of its exported BVH."""
    client = Client(URL, verbose=False)
    steps = [
        (
            "generate",
            lambda: client.predict(
                handle_file(str(song)), "a person dances", seed=seed, api_name="/generate"
            ),
        ),  # fmt: skip
        ("edit", lambda: client.predict("2-4", text="a person jumps", seed=seed, api_name="/edit")),
        ("undo", lambda: client.predict(api_name="/undo")),
        ("redo", lambda: client.predict(api_name="/redo")),
        ("export", lambda: client.predict("bvh", api_name="/export")),
    ]
    result = None
    for name, call in steps:
        started = time.perf_counter()
        result = call()
        timings[name].append(time.perf_counter() - started)
    client.close()
    return hashlib.sha256(Path(result).read_bytes()).hexdigest()


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_load(song: Path, clients: int, seconds: float, pid: int) -> dict:
    timings: dict[str, list[float]] = defaultdict(list)
    hashes: dict[int, str] = {}
    errors: list[str] = []
    memory: list[tuple[float, float]] = []
    started = time.perf_counter()
    lock = threading.Lock()

    def worker(index: int) -> None:
        n = 0
        while time.perf_counter() - started < seconds:
            seed = index * 1000 + n
            try:
                digest = cycle(song, seed, timings)
                with lock:
                    hashes[seed] = digest
            except Exception as err:  # counted and reported: the target is none
                with lock:
                    errors.append(f"{type(err).__name__}: {err}")
            n += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        memory.append((round(time.perf_counter() - started, 1), round(resident_mb(pid), 1)))
        time.sleep(5.0)
    elapsed = time.perf_counter() - started
    return {"timings": timings, "hashes": hashes, "errors": errors, "memory": memory, "elapsed": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--session-ttl", type=float, default=60.0)
    parser.add_argument("--replays", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    song = Path(tempfile.mkdtemp()) / "song-10s.wav"
    audio, _ = percussion.synthesize(124.0, 10.0, "four_on_floor", seed=2, sample_rate=44100)
    soundfile.write(song, audio, 44100)
    command = [
        sys.executable,
        "app.py",
        "--requests-per-minute",
        "100000",
        "--session-ttl",
        str(args.session_ttl),
    ]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                urllib.request.urlopen(URL, timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        cycle(song, 10**6, defaultdict(list))  # warm the server (first-call compile) before timing
        load = run_load(song, args.clients, args.minutes * 60.0, server.pid)
        replayed = sorted(load["hashes"])[:: max(1, len(load["hashes"]) // args.replays)][: args.replays]
        mismatches = [s for s in replayed if cycle(song, s, defaultdict(list)) != load["hashes"][s]]
    finally:
        server.terminate()
        server.wait(timeout=30)
    cycles = len(load["hashes"])
    result = {
        "clients": args.clients,
        "seconds": round(load["elapsed"], 1),
        "cycles": cycles,
        "cycles_per_minute": round(cycles / load["elapsed"] * 60.0, 2),
        "requests_per_second": round(sum(map(len, load["timings"].values())) / load["elapsed"], 2),
        "latency_s": {
            name: {"p50": round(statistics.median(v), 3), "p95": round(percentile(v, 0.95), 3), "n": len(v)}
            for name, v in load["timings"].items()
        },
        "errors": len(load["errors"]),
        "error_examples": load["errors"][:5],
        "memory_mb": load["memory"],
        "replayed_sessions": len(replayed),
        "sessions_differing_when_replayed_alone": len(mismatches),
    }
    print(json.dumps(result, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
