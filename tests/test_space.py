"""The Hugging Face Space settings: README front matter, space.yaml and the installed gradio agree."""

from __future__ import annotations

from pathlib import Path

import gradio
import yaml

ROOT = Path(__file__).resolve().parent.parent


def front_matter() -> dict:
    text = (ROOT / "README.md").read_text()
    assert text.startswith("---\n"), "README.md must open with the Space's YAML front matter"
    return yaml.safe_load(text.split("---\n", 2)[1])


def test_readme_front_matter_and_space_yaml_agree():
    manifest = yaml.safe_load((ROOT / "space.yaml").read_text())
    assert front_matter() == manifest
    assert manifest["sdk"] == "gradio" and manifest["sdk_version"] == gradio.__version__
    assert (ROOT / manifest["app_file"]).is_file()
    assert manifest["suggested_hardware"].split("-")[0] in {"t4", "l4", "a10g", "a100", "l40s", "zero"}


def test_readme_opens_with_the_install_and_test_commands():
    body = (ROOT / "README.md").read_text().split("---\n", 2)[2]
    commands = [line for line in body.splitlines() if line.startswith(("python3 -m venv", ". .venv"))]
    assert "pip install -r requirements.txt && python app.py" in commands[0]
    assert "pip install -r requirements-dev.txt && python -m pytest" in commands[1]


def test_apt_packages_for_offscreen_rendering_are_listed():
    packages = (ROOT / "packages.txt").read_text().split()
    assert "libosmesa6" in packages and "libegl1" in packages
