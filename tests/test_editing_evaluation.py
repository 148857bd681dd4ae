"""The editing table on a tiny random engine: real numbers come out, an instruction that does the
opposite of what it says scores 0 %, and ``evaluate --editing`` prints it without a corpus."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from dancemosaic import editing_evaluation, instructions
from dancemosaic.editing_evaluation import Protocol

SMALL = Protocol(songs=1, seeds=2, song_seconds=7.0, dance_seconds=6.0, span=(2.0, 5.0), steps=2)
LOWER, JUMP = instructions.BY_NAME["arms lower"], instructions.BY_NAME["jump"]


def test_the_table_measures_each_instruction_on_real_trials(engine):
    called = []
    summary = editing_evaluation.evaluate(engine, SMALL, (LOWER, JUMP), progress=called.append)
    assert called == ["arms lower", "jump"] * 2  # one progress tick per trial
    lower, jump = summary["arms lower"], summary["jump"]
    assert lower["trials"] == jump["trials"] == 2 and summary["_meta"]["trials"] == 2
    assert lower["reached_pct"] == 100.0 and lower["meets_target"], lower
    assert lower["median_change"] <= -0.10 and lower["worst_change"] <= -0.10
    assert lower["kept_error_cm"] <= 0.01  # the arms moved; every other joint stayed put
    assert "kept_error_cm" not in jump  # a jump may move the whole body
    for row in (lower, jump):  # (test_instructions holds the borders' jumps <= 1 on its dance)
        assert row["outside_drift_mm"] <= 1.0 and 0 < row["border_jump_ratio"] < math.inf
        assert 0 <= row["border_jumps_over_1_in_the_dance"] <= row["border_jumps_over_1"] <= row["trials"]
        assert all(math.isfinite(row[k]) for k in ("bas_change", "fsr_before", "fsr_after", "seconds"))
    table = editing_evaluation.markdown(summary)
    assert "| arms lower | -0.1 m | 100% of 2 |" in table and "1 songs x 2 seeds" in table


def test_an_instruction_that_does_the_opposite_scores_low(engine, monkeypatch):
    """The engine steers "arms lower" upwards; the table, scoring the stated effect, must say so."""
    parse = instructions.parse

    def inverted(text: str) -> instructions.Parsed:
        parsed = parse(text)
        return replace(parsed, effects=tuple(replace(e, sign=-e.sign) for e in parsed.effects))

    monkeypatch.setattr(instructions, "parse", inverted)
    summary = editing_evaluation.evaluate(engine, SMALL, (LOWER,))
    assert summary["arms lower"]["reached_pct"] == 0.0 and not summary["arms lower"]["meets_target"]
    assert summary["arms lower"]["median_change"] > 0  # the wrists went up


def test_a_bad_protocol_is_refused_with_what_to_change():
    with pytest.raises(ValueError, match="1-3 songs"):
        Protocol(songs=4)
    with pytest.raises(ValueError, match="must lie inside the 6 s dance"):
        Protocol(span=(4.0, 7.0), dance_seconds=6.0)


def test_evaluate_prints_the_editing_table_without_a_corpus(engine, tmp_path, capsys):
    from dancemosaic.__main__ import main

    engine.save_pretrained(tmp_path / "ckpt")
    args = ["evaluate", "--editing", "--editing-songs", "1", "--editing-seeds", "1",
            "--checkpoint", str(tmp_path / "ckpt"), "--cache", str(tmp_path / "no-corpus")]  # fmt: skip
    assert main([*args, "--json"]) == 0
    out = capsys.readouterr()
    row = json.loads(out.out)
    assert row["name"].startswith("editing: instructions (1 songs x 1 seeds")
    assert set(row["instructions"]) == {effect.name for effect in instructions.EFFECTS}
    assert row["instructions"]["spin"]["reached_pct"] == 100.0  # an exact turn
    assert "editing: 100%" in out.err.replace("\r", "\n")  # the progress bar
