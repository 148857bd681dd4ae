"""Text prompts from dataset labels: CMU descriptions and Bandai-Namco ``<content>_<style>`` names.

Prompts read like the captions a user types ("a person dances salsa", "a person walks backwards
happily") so that the text encoder sees the same kind of sentence in training and in the studio.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

_BANDAI_CONTENT = {
    "bow": "bows", "bye": "waves goodbye", "byebye": "waves goodbye with both hands",
    "call": "calls someone over", "dance-short": "dances", "dash": "dashes forward",
    "guide": "guides someone the way", "kick": "kicks", "punch": "punches",
    "raise-up-both-hands": "raises both hands", "raise-up-left-hand": "raises the left hand",
    "raise-up-right-hand": "raises the right hand", "respond": "responds to a call",
    "run": "runs", "slash": "slashes with a sword", "walk": "walks",
    "walk-back": "walks backwards", "walk-left": "walks to the left",
    "walk-right": "walks to the right", "walk-turn-left": "walks and turns left",
    "walk-turn-right": "walks and turns right", "wave-both-hands": "waves both hands",
    "wave-left-hand": "waves the left hand", "wave-right-hand": "waves the right hand",
}  # fmt: skip
_BANDAI_STYLE = {
    "normal": "", "active": "actively", "angry": "angrily", "childish": "like a child",
    "chimpira": "like a street punk", "elderly": "like an elderly person",
    "old": "like an old person", "exhausted": "as if exhausted", "tired": "tiredly",
    "feminine": "in a feminine way", "masculine": "in a masculine way",
    "masculinity": "in a masculine way", "giant": "like a giant", "happy": "happily",
    "musical": "like in a musical", "not-confident": "without confidence", "proud": "proudly",
    "sad": "sadly", "youthful": "in a youthful way",
}  # fmt: skip
_CMU_VERBS = {
    "walk": "walks", "run/jog": "runs", "jump, balance": "jumps and balances",
    "punch/strike": "punches and strikes", "swordplay": "fights with a sword",
    "wash self": "washes", "salsa dance": "dances salsa",
    "bend over, scoop up, rise, lift arm": "bends over, scoops something up and lifts an arm",
}  # fmt: skip


def bandai_prompt(stem: str) -> str:
    """'dataset-1_walk-back_happy_001' -> 'a person walks backwards happily'."""
    match = re.fullmatch(r"dataset-\d+_(?P<content>[a-z-]+)_(?P<style>[a-z-]+)_\d+", stem)
    if not match:
        raise ValueError(f"{stem!r} is not a Bandai-Namco name like 'dataset-1_walk_happy_001'")
    content, style = match["content"], match["style"]
    action = _BANDAI_CONTENT.get(content, content.replace("-", " "))
    manner = _BANDAI_STYLE.get(style, style.replace("-", " "))
    return " ".join(part for part in ("a person", action, manner) if part)


def cmu_prompt(description: str) -> str:
    """A CMU motion description -> a prompt; 'dance - x, y' becomes a ballet prompt naming the steps."""
    description = description.strip()
    if description.startswith("dance - "):
        return f"a person dances ballet: {description.removeprefix('dance - ')}"
    return f"a person {_CMU_VERBS.get(description, description)}"


def read_cmu_index(path: Path) -> dict[tuple[int, int], str]:
    """cmu_index.csv -> {(subject, trial): description}."""
    with open(path, newline="", encoding="utf-8") as handle:
        return {
            (int(row["Subject"]), int(row["Trial #"])): row["Motion Description"]
            for row in csv.DictReader(handle)
        }


def cmu_key(stem: str) -> tuple[int, int]:
    """'60_01_scaled' or '005_17' -> (subject, trial)."""
    match = re.match(r"(\d+)_(\d+)", stem)
    if not match:
        raise ValueError(f"{stem!r} is not a CMU clip name like '05_17'")
    return int(match[1]), int(match[2])


_SIDES = {"left": "right", "right": "left"}


def mirror_prompt(text: str) -> str:
    """The prompt of the mirrored clip: left and right swap."""
    return re.sub(r"\b(left|right)\b", lambda m: _SIDES[m[1]], text)
