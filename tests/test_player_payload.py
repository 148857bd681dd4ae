"""The player's payload (views.player_payload) against the page's joint picker and the session."""

from __future__ import annotations

import json

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
