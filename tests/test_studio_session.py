"""Studio history (undo / redo / branches) and the session store (expiry, folders)."""

from __future__ import annotations

import pytest

from dancemosaic.studio import session as session_module
from dancemosaic.studio.session import History, SessionStore


def test_undo_redo_walk_the_versions_and_an_edit_after_undo_keeps_the_old_branch():
    history = History()
    a, b, c, d = object(), object(), object(), object()  # dances are opaque to the history
    history.push(a, "a", parent=None)
    history.push(b, "b")
    history.push(c, "c")
    assert history.undo() is b and history.undo() is a
    with pytest.raises(ValueError, match="nothing to undo"):
        history.undo()
    assert history.redo() is b
    history.push(d, "d")  # a branch from b: c stays in the list, redo starts afresh
    assert [v.label for v in history.versions] == ["a", "b", "c", "d"]
    assert history.versions[3].parent == 1 and not history.can_redo
    with pytest.raises(ValueError, match="nothing to redo"):
        history.redo()
    assert history.undo() is b and history.checkout(2) is c and history.undo() is b


def test_an_empty_history_asks_for_a_dance_first():
    with pytest.raises(ValueError, match="generate a dance first"):
        _ = History().dance
    with pytest.raises(ValueError, match="no version 5"):
        History().checkout(4)


def test_sessions_are_separate_and_expire_with_their_folders(tmp_path):
    now = [0.0]
    store = SessionStore(tmp_path, ttl=60.0, max_sessions=3, clock=lambda: now[0])
    one, two = store.get("one"), store.get("two")
    assert one is store.get("one") and one.folder != two.folder and one.folder.parent == tmp_path
    (one.folder / "export.bvh").write_text("x")
    now[0] = 45.0
    store.get("two")  # two is used again; one is not
    now[0] = 70.0
    store.get("three")
    assert len(store) == 2 and not one.folder.exists() and two.folder.exists()


def test_the_store_holds_at_most_max_sessions_dropping_the_idlest(tmp_path):
    now = [0.0]
    store = SessionStore(tmp_path, max_sessions=2, clock=lambda: now[0])
    for i, name in enumerate(["a", "b", "c"]):
        now[0] = float(i)
        store.get(name)
    assert len(store) == 2 and "a" not in store._sessions
    store.close("b")
    assert len(store) == 1


def test_a_session_asking_too_fast_is_told_how_long_to_wait(tmp_path):
    now = [0.0]
    store = SessionStore(tmp_path, clock=lambda: now[0], requests_per_minute=6.0)
    session, other = store.get("busy"), store.get("calm")
    for _ in range(6):  # the burst
        session.rate.take()
    with pytest.raises(ValueError, match="too many requests from this session: wait 10 s"):
        session.rate.take()
    other.rate.take()  # other sessions are not slowed down
    now[0] = 10.0
    session.rate.take()


def test_a_full_history_refuses_new_versions_before_any_work(monkeypatch):
    monkeypatch.setattr(session_module, "MAX_VERSIONS", 3)
    history = History()
    for label in "abc":
        history.push(object(), label)
    with pytest.raises(ValueError, match="holds 3 versions"):
        history.check_room()
    with pytest.raises(ValueError, match="export the ones you want"):
        history.push(object(), "d")
    assert [v.label for v in history.versions] == ["a", "b", "c"]


def test_a_reload_binds_the_new_tab_to_the_session_its_browser_kept(tmp_path):
    now = [0.0]
    store = SessionStore(tmp_path, ttl=60.0, clock=lambda: now[0])
    kept, restored = store.restore("tab-1", None)  # first visit: a new session, its id to keep
    assert not restored and len(kept) >= 32
    store.get("tab-1").history.push(object(), "a", parent=None)
    store.release("tab-1")  # the reload closes the old tab's connection first
    assert len(store) == 1
    now[0] = 50.0
    assert store.restore("tab-2", kept) == (kept, True)
    assert [v.label for v in store.get("tab-2").history.versions] == ["a"]
    assert store.expires_in(store.get("tab-2")) == 60.0
    now[0] = 80.0
    assert store.expires_in(store.get("tab-2")) == 60.0  # each use puts the expiry off
    assert store.get("tab-1").history.current is None  # the released tab is bound to nothing now


def test_an_expired_forged_or_api_session_id_is_not_restored(tmp_path):
    now = [0.0]
    store = SessionStore(tmp_path, ttl=60.0, clock=lambda: now[0])
    kept, _ = store.restore("tab-1", None)
    store.get("api-client").history.push(object(), "theirs", parent=None)
    for forged in ("api-client", "made-up", 42, {"id": kept}):
        other, restored = store.restore("tab-2", forged)
        assert not restored and other not in (kept, "api-client")
        assert store.get("tab-2").history.current is None
    now[0] = 61.0
    fresh, restored = store.restore("tab-3", kept)
    assert not restored and fresh != kept


def test_closing_a_session_drops_it_and_its_folder_through_any_of_its_tabs(tmp_path):
    store = SessionStore(tmp_path)
    kept, _ = store.restore("tab", None)
    folder = store.get("tab").folder
    store.close("tab")
    assert len(store) == 0 and not folder.exists()
    assert store.restore("tab-2", kept)[1] is False


def test_redo_retraces_the_way_after_jumping_back_through_the_version_list():
    history = History()
    a, b, c, d = object(), object(), object(), object()
    history.push(a, "a", parent=None)
    history.push(b, "b")
    history.push(c, "c")
    assert history.checkout(0) is a and history.can_redo and not history.can_undo
    assert history.redo() is b and history.redo() is c and not history.can_redo
    history.checkout(1)
    history.push(d, "d")  # a branch from b: redo from b now leads to d, the one seen last
    history.checkout(0)
    assert history.redo() is b and history.redo() is d
    history.checkout(2)  # back on the old branch: redo from a leads there again
    history.checkout(0)
    assert history.redo() is b and history.redo() is c


def test_a_new_generate_can_be_undone_back_to_the_version_it_followed(engine, tmp_path):
    from dancemosaic.studio.service import Controls, Studio

    studio, session = Studio(engine), SessionStore(tmp_path).get("tab")
    studio.generate(session, None, "a person dances", Controls(steps=1, beat_steps=0), duration=1.0)
    studio.generate(session, None, "a person jumps", Controls(steps=1, beat_steps=0), duration=1.0)
    assert session.history.can_undo and not session.history.can_redo
    first = session.history.undo()
    assert first is session.history.versions[0].dance and session.history.can_redo
