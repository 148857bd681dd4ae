"""Weights on disk: ``model.safetensors`` + ``config.json`` side by side; never pickle.

A checkpoint folder also records its format version and text encoder, and refuses to load into
anything else. Training state (optimizer moments, step) is saved the same way so that a run can
resume without unpickling anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def save_module(module: nn.Module, folder: Path, config: dict[str, Any], half: bool = False) -> Path:
    """Write the module's state (fp16 when ``half``: halves the file) and its config."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in module.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    save_file(state, folder / WEIGHTS)
    (folder / CONFIG).write_text(json.dumps({"format_version": FORMAT_VERSION, **config}, indent=2))
    return folder


def read_config(folder: Path) -> dict[str, Any]:
    path = Path(folder) / CONFIG
    if not path.is_file():
        raise ValueError(f"{folder} is not a checkpoint folder: it has no {CONFIG}")
    config = json.loads(path.read_text())
    version = config.pop("format_version", None)
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{folder} has checkpoint format {version}; this version of DanceMosaic reads format "
            f"{FORMAT_VERSION}. Re-export the checkpoint or use a matching DanceMosaic release."
        )
    return config


def load_weights(module: nn.Module, folder: Path) -> nn.Module:
    """Load weights into ``module`` (cast to its dtypes); missing or extra keys are an error."""
    state = load_file(Path(folder) / WEIGHTS)
    own = module.state_dict()
    missing, extra = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    reshaped = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or extra or reshaped:
        raise ValueError(
            f"{folder} does not fit this model: missing {missing[:5]}, unexpected {extra[:5]}, "
            f"different shapes {reshaped[:5]}"
        )
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})
    return module


def save_training_state(
    path: Path, optimizer: torch.optim.Optimizer, step: int, extra: dict | None = None
) -> None:
    """Optimizer moments as flat tensors + JSON metadata, in one safetensors file."""
    tensors, meta = {}, {"step": step, "extra": extra or {}, "scalars": {}}
    for index, state in optimizer.state_dict()["state"].items():
        for key, value in state.items():
            name = f"{index}.{key}"
            if torch.is_tensor(value) and value.dim() > 0:
                tensors[name] = value.contiguous()
            else:
                meta["scalars"][name] = float(value)
    save_file(tensors, path, metadata={"meta": json.dumps(meta)})


def load_training_state(path: Path, optimizer: torch.optim.Optimizer) -> tuple[int, dict]:
    """Restore optimizer moments saved by ``save_training_state``; returns (step, extra)."""
    with safe_open(str(path), framework="pt") as handle:
        meta = json.loads(handle.metadata()["meta"])
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (not iterable)
    state: dict[int, dict[str, Any]] = {}
    for name, value in list(tensors.items()) + list(meta["scalars"].items()):
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value if torch.is_tensor(value) else torch.tensor(value)
    optimizer.load_state_dict({"state": state, "param_groups": optimizer.state_dict()["param_groups"]})
    return meta["step"], meta["extra"]
