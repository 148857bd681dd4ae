"""Multi-process training under ``torchrun``: one process per GPU (or CPU workers with gloo).

Outside torchrun everything here is a no-op: rank 0 of a world of one, on CUDA when present.
Gradients are averaged with one all-reduce per parameter after each backward pass, which is what
DistributedDataParallel computes, without wrapping the modules (the training steps call submodules
such as the backbone or a tower directly).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int
    size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup() -> World:
    """Join the torchrun process group when launched by torchrun; pick this process's device."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
    if size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return World(int(os.environ.get("RANK", "0")), size, device)


def average_gradients(params: list[torch.nn.Parameter], world: World) -> None:
    if world.size == 1:
        return
    for param in params:
        if param.grad is not None:
            dist.all_reduce(param.grad, op=dist.ReduceOp.SUM)
            param.grad /= world.size
