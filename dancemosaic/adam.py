"""Adam for the inference-time optimisations (pose refinement, beat sync): ``torch.optim.Adam``'s
update for one tensor with its defaults (betas 0.9 and 0.999, eps 1e-8, no weight decay), the same
numbers step for step on the CPU, without ``torch.optim``. Its first use imports ``torch._dynamo``
(1.5-2 s on a CPU, the largest import a command-line dance waits for), which this does not need.
"""

from __future__ import annotations

import torch


class Adam:
    """Adam on ``param``, reading the gradient the caller puts in ``param.grad``."""

    def __init__(self, param: torch.Tensor, lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:  # fmt: skip
        self.param, self.lr, self.betas, self.eps = param, lr, betas, eps
        self.exp_avg = torch.zeros_like(param, memory_format=torch.preserve_format)  # first moment
        self.exp_avg_sq = torch.zeros_like(param, memory_format=torch.preserve_format)  # second
        self.steps = 0

    @torch.no_grad()
    def step(self) -> None:
        """One update, written as torch.optim.adam's single-tensor path writes it (same order of
        operations, so the same rounding)."""
        grad = self.param.grad
        if grad is None:
            return
        beta1, beta2 = self.betas
        self.steps += 1
        self.exp_avg.lerp_(grad, 1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        bias_correction1 = 1 - beta1 ** float(self.steps)
        bias_correction2 = 1 - beta2 ** float(self.steps)
        denom = (self.exp_avg_sq.sqrt() / bias_correction2**0.5).add_(self.eps)
        self.param.addcdiv_(self.exp_avg, denom, value=-self.lr / bias_correction1)
