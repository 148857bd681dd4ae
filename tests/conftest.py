"""Shared fixtures: seeded random poses and motions on the canonical skeleton."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from dancemosaic import rotation, skeleton
from dancemosaic.motion import Motion


def smooth_noise(gen: torch.Generator, *shape: int, width: int = 9) -> torch.Tensor:
    """(T, ...) noise smoothed along T by a moving average, so motions move like bodies, not static."""
    noise = torch.randn(shape[0] + width - 1, *shape[1:], generator=gen)
    return noise.unfold(0, width, 1).mean(-1) * width**0.5


@pytest.fixture(scope="session")
def engine():
    """A tiny random engine shared by the whole run: engines are read-only after construction."""
    from dancemosaic.config import ModelConfig
    from dancemosaic.engine import DanceEngine

    return DanceEngine.from_config(ModelConfig.tiny())


@pytest.fixture
def make_motion() -> Callable[..., Motion]:
    """Factory: a seeded random Motion with smooth joint rotations (about ``amplitude`` rad) and a
    wandering root at 1 m height."""

    def make(frames: int = 30, seed: int = 0, amplitude: float = 0.4, fps: float = 30.0) -> Motion:
        gen = torch.Generator().manual_seed(seed)
        axis_angle = smooth_noise(gen, frames, skeleton.NUM_BODY_JOINTS, 3) * amplitude
        root = torch.cumsum(smooth_noise(gen, frames, 3) * 0.02, dim=0) + torch.tensor([0.0, 1.0, 0.0])
        return Motion(rotation.axis_angle_to_matrix(axis_angle), root, fps)

    return make


# Browser fixtures (Debian chromium through Playwright; tests skip where it is missing).


@pytest.fixture(scope="module")
def playwright():
    from tests.browser import playwright_session

    with playwright_session() as session:
        yield session


@pytest.fixture(scope="module")
def webgl_browser(playwright):
    from tests.browser import launch_chromium

    with launch_chromium(playwright) as browser:
        yield browser


@pytest.fixture(scope="module")
def plain_browser(playwright):
    """A chromium with WebGL switched off: the player falls back to its 2D view."""
    from tests.browser import NO_WEBGL_ARGS, launch_chromium

    with launch_chromium(playwright, *NO_WEBGL_ARGS) as browser:
        yield browser


@pytest.fixture(scope="module")
def studio_url(engine, tmp_path_factory):
    """The whole studio on the tiny engine, served for a browser test module."""
    from tests.browser import studio_server

    with studio_server(engine, tmp_path_factory.mktemp("studio")) as url:
        yield url
