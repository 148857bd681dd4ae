"""The player's payload (views.player_payload) against the page's joint picker and the session."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np

from dancemosaic import skeleton
from dancemosaic.studio.actions import JOINT_CHOICES


def test_the_player_offers_exactly_the_joints_the_picker_lists(engine, make_motion):
    from dancemosaic.studio import views

    dance = engine.dance_from_motion(make_motion(frames=30), "a person dances")
    payload = json.loads(views.player_payload(dance, 0))
    offered = [payload["names"][j] for j in payload["selectable"]]
    assert offered == [name for _, name in JOINT_CHOICES]
    # The palms are drawn (24 joints travel) but not offered: they move with the wrists.
    assert payload["joints"] == 24
    assert {"left_hand", "right_hand"}.isdisjoint(offered)
    hands = [skeleton.JOINT_INDEX[n] for n in ("left_hand", "right_hand")]
    assert [payload["names"][payload["parents"][j]] for j in hands] == ["left_wrist", "right_wrist"]


def test_variations_are_offered_as_ghosts_and_only_keeping_one_adds_a_version(engine, tmp_path):
    from dancemosaic.studio import views
    from dancemosaic.studio.service import Controls, Studio
    from dancemosaic.studio.session import SessionStore

    studio, session = Studio(engine), SessionStore(tmp_path).get("test")
    studio.generate(session, None, "a person dances", Controls(steps=2, variations=3), duration=2.0)

    def offered() -> list[dict]:
        return views.ghost_options(session, views.candidate_choices(session))

    options = offered()
    assert [o["id"] for o in options] == ["c2", "c3"]  # candidate 1 is the version shown
    assert [o["label"] for o in options] == views.candidate_choices(session)[1:]
    for option, dance in zip(options, session.candidates[1:], strict=True):
        path = Path(option["url"].removeprefix(views.FILE_ROUTE))
        assert session.folder in path.parents  # served with the session's song, gone with it
        ghost = json.loads(path.read_text())
        positions = np.frombuffer(base64.b64decode(ghost["positions"]), "<i2").reshape(ghost["frames"], 24, 3)
        assert np.abs(positions / 1000.0 - dance.joints()).max() <= 0.0006
    # Looking writes each motion once (named by its content) and adds no version.
    assert offered() == options
    assert len(list((session.folder / "motions").iterdir())) == 2
    assert len(session.history.versions) == 1
    payload = json.loads(views.player_payload(session.history.dance, 0, ghosts=options))
    assert payload["ghosts"] == options

    studio.pick(session, 2)  # keeping one does
    assert len(session.history.versions) == 2
    choices = views.candidate_choices(session)
    assert views.current_choice(session, choices) == choices[2]
    assert [o["id"] for o in offered()] == ["c1", "c2"]

    # After an edit, the version it was made from is there to compare with.
    studio.edit(session, [(0.5, 1.5)], None, (), Controls(steps=2))
    assert [(o["id"], o["label"]) for o in offered()] == [("v2", "Version 2 (before this one)")]
