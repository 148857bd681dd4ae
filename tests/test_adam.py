"""The inference-time Adam: torch.optim.Adam's numbers exactly, without importing torch._dynamo."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

from dancemosaic.adam import Adam


def test_adam_takes_the_same_steps_as_torch_optim_adam_bit_for_bit():
    gen = torch.Generator().manual_seed(0)
    ours = torch.randn(2, 30, 16, generator=gen)
    theirs = ours.clone().requires_grad_(True)
    ours.requires_grad_(True)
    mine, reference = Adam(ours, lr=0.05), torch.optim.Adam([theirs], lr=0.05)
    for step in range(40):
        grad = (
            torch.randn(2, 30, 16, generator=gen) * (step % 7) * (torch.rand(2, 30, 1, generator=gen) > 0.3)
        )
        ours.grad, theirs.grad = grad.clone(), grad.clone()
        mine.step()
        reference.step()
        assert torch.equal(ours, theirs), step
    ours.grad = None
    before = ours.detach().clone()
    mine.step()  # no gradient: no step, as torch's
    assert torch.equal(ours, before)


def test_a_generate_with_beat_sync_never_imports_torch_dynamo(tmp_path):
    script = f"""
import sys
import soundfile
from dancemosaic import percussion
from dancemosaic.config import ModelConfig
from dancemosaic.dance import Request
from dancemosaic.engine import DanceEngine
from dancemosaic.rhythm import BeatOptions
from dancemosaic.sampling import SamplingOptions
from dancemosaic.timing import SAMPLE_RATE
audio, _ = percussion.synthesize(120.0, 4.0)
soundfile.write({str(tmp_path / "song.wav")!r}, audio, SAMPLE_RATE)
engine = DanceEngine.from_config(ModelConfig.tiny())
options = SamplingOptions(steps=1, beat=BeatOptions(steps=2))
engine.generate(Request("a person dances", song={str(tmp_path / "song.wav")!r}), options)
print("torch._dynamo" in sys.modules)
"""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False", done.stderr[-2000:]
