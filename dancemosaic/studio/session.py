"""Per-session studio state: the version history (undo / redo), candidates, and the session store.

History is an append-only tree: every generate or edit adds a version whose parent is the version
that was current when it was made (for an edit, the one it was made from; for a new Generate, the
one the user was looking at), so nothing the user made is ever dropped (an edit after an undo starts
a branch; the older branch stays in the list). Undo walks to the parent; redo walks back down to the
child that was current last, so after jumping back through the version list, redo retraces the way.
A failed operation never reaches the history, because versions are only added once the engine has
returned.

The store keys sessions by Gradio's ``session_hash`` (one per browser tab or ``gradio_client``
``Client``), so the UI and the API endpoints share one history per session. A page does better: it
keeps a session id of its own in the browser (``gr.BrowserState``) and, on every load, binds its new
``session_hash`` to that id (``SessionStore.restore``), so a reload finds the session as it was.
Closing or reloading a tab only unbinds its ``session_hash`` (a reload cannot be told apart from a
close); the session itself stays until it has been idle for ``ttl`` seconds, and then its
temporary folder goes with it.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dancemosaic.dance import Dance

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Version:
    dance: Dance
    label: str  # what made it, for the version list: "Generate: a person dances salsa (seed 0)"
    parent: int | None


MAX_VERSIONS = 200  # a 5-minute dance holds about 7 MB: this bounds one session's memory


@dataclass
class History:
    versions: list[Version] = field(default_factory=list)
    current: int | None = None
    # Each version's child that was current last: where redo goes from it.
    next_child: dict[int, int] = field(default_factory=dict)

    def check_room(self, adding: int = 1) -> None:
        """Raise before any work when the history has no room for ``adding`` more versions
        (nothing is ever dropped silently)."""
        if len(self.versions) + adding > MAX_VERSIONS:
            raise ValueError(
                f"this session holds {len(self.versions)} versions and keeps at most {MAX_VERSIONS}: "
                "export the ones you want and reload the page to start a new session"
            )

    @property
    def dance(self) -> Dance:
        if self.current is None:
            raise ValueError("generate a dance first")
        return self.versions[self.current].dance

    def push(self, dance: Dance, label: str, parent: int | None = -1) -> int:
        """Add a version made from ``parent`` (default: the current one); it becomes current."""
        self.check_room()
        self.versions.append(Version(dance, label, self.current if parent == -1 else parent))
        self._visit(len(self.versions) - 1)
        return self.current

    def undo(self) -> Dance:
        if not self.can_undo:
            raise ValueError("nothing to undo: this is the first version")
        self.current = self.versions[self.current].parent
        return self.dance

    def redo(self) -> Dance:
        if not self.can_redo:
            raise ValueError("nothing to redo")
        self.current = self.next_child[self.current]
        return self.dance

    def checkout(self, index: int) -> Dance:
        """Make version ``index`` current (picked from the version list)."""
        if not 0 <= index < len(self.versions):
            raise ValueError(f"there is no version {index + 1}; pick one of 1-{len(self.versions)}")
        self._visit(index)
        return self.dance

    def adopt(self, other: History) -> None:
        """Add every version of ``other`` (an opened project) after this history's own, its tree
        kept; its first version follows the current one (Undo goes back there) and its current
        version becomes current."""
        if other.current is None:
            return
        self.check_room(len(other.versions))
        offset, before = len(self.versions), self.current
        for version in other.versions:
            parent = before if version.parent is None else version.parent + offset
            self.versions.append(Version(version.dance, version.label, parent))
        self.next_child.update({p + offset: c + offset for p, c in other.next_child.items()})
        self._visit(other.current + offset)

    @property
    def can_undo(self) -> bool:
        return self.current is not None and self.versions[self.current].parent is not None

    @property
    def can_redo(self) -> bool:
        return self.current in self.next_child

    def _visit(self, index: int) -> None:
        """Make ``index`` current and mark the way down to it from its root, for redo."""
        self.current = child = index
        while (parent := self.versions[child].parent) is not None:
            self.next_child[parent] = child
            child = parent


@dataclass
class RateLimit:
    """A token bucket: ``burst`` engine requests at once, refilled at ``per_minute``; a session
    asking faster is told how long to wait (one public Space serves everyone)."""

    per_minute: float = 20.0
    burst: float = 6.0
    clock: Callable[[], float] = time.monotonic
    _tokens: float | None = None
    _updated: float = 0.0

    def take(self) -> None:
        now = self.clock()
        tokens = self.burst if self._tokens is None else self._tokens
        tokens = min(self.burst, tokens + (now - self._updated) * self.per_minute / 60.0)
        self._updated = now
        if tokens < 1.0:
            self._tokens = tokens
            wait = (1.0 - tokens) * 60.0 / self.per_minute
            raise ValueError(f"too many requests from this session: wait {wait:.0f} s and try again")
        self._tokens = tokens - 1.0


@dataclass
class Session:
    folder: Path  # this session's files: its song copy and exports; removed when it expires
    history: History = field(default_factory=History)
    candidates: tuple[Dance, ...] = ()  # variations of the last request, to compare and pick
    candidates_parent: int | None = None  # the version the candidates were made from
    candidates_label: str = ""  # what made them
    last_seen: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    rate: RateLimit = field(default_factory=RateLimit, repr=False)
    kept_in_browser: bool = False  # its id was minted for a page to keep (only those are restored)

    def export_folder(self) -> Path:
        folder = self.folder / "exports" / uuid.uuid4().hex[:8]
        folder.mkdir(parents=True)
        return folder


class SessionStore:
    """Sessions by id, created on first use, expired after ``ttl`` seconds idle (oldest first)."""

    def __init__(
        self, root: Path | None = None, ttl: float = 3 * 3600.0, max_sessions: int = 256,
        clock: Callable[[], float] = time.monotonic, requests_per_minute: float = 20.0,
    ) -> None:  # fmt: skip
        self.root = Path(root or tempfile.mkdtemp(prefix="dancemosaic-sessions-")).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.ttl = ttl
        self.max_sessions = max_sessions
        self._clock = clock
        self.requests_per_minute = requests_per_minute
        self._sessions: dict[str, Session] = {}
        self._aliases: dict[str, str] = {}  # a page's session_hash -> the session id its browser keeps
        self._lock = threading.Lock()

    def get(self, key: str) -> Session:
        """The session of ``key`` (a page's bound ``session_hash``, or any other caller's own
        ``session_hash``), created on first use; using it puts off its expiry."""
        with self._lock:
            self._expire()
            session = self._sessions.get(self._aliases.get(key, key)) or self._create(key)
            session.last_seen = self._clock()
            return session

    def restore(self, key: str, kept_id: object) -> tuple[str, bool]:
        """Bind a page's ``key`` (its ``session_hash``) to the session whose id its browser kept.
        Returns the id for the browser to keep and whether that session came back: a new session
        when nothing was kept, the kept one has expired, or the value is no id this store minted."""
        with self._lock:
            self._expire()
            session = self._sessions.get(kept_id) if isinstance(kept_id, str) else None
            restored = session is not None and session.kept_in_browser
            if not restored:
                kept_id = secrets.token_urlsafe(24)  # whoever holds it holds the session
                self._create(kept_id).kept_in_browser = True
            self._aliases[key] = kept_id
            self._sessions[kept_id].last_seen = self._clock()
            return kept_id, restored

    def release(self, key: str) -> None:
        """A page's connection closed (a closed tab, or a reload): forget its ``session_hash``.
        Its session stays until it expires, so a reload (which also closes) can bring it back."""
        with self._lock:
            self._aliases.pop(key, None)

    def close(self, key: str) -> None:
        """Drop a session now, with its files."""
        with self._lock:
            session = self._sessions.pop(self._aliases.pop(key, key), None)
            self._forget_aliases()
        if session is not None:
            shutil.rmtree(session.folder, ignore_errors=True)

    def expires_in(self, session: Session) -> float:
        """Seconds until ``session`` expires if nothing uses it before."""
        return max(0.0, self.ttl - (self._clock() - session.last_seen))

    def _create(self, session_id: str) -> Session:
        # A random folder name: files under root are served to the browser by URL.
        folder = self.root / uuid.uuid4().hex
        folder.mkdir()
        rate = RateLimit(self.requests_per_minute, clock=self._clock)
        session = self._sessions[session_id] = Session(folder, last_seen=self._clock(), rate=rate)
        return session

    def _forget_aliases(self) -> None:
        self._aliases = {key: sid for key, sid in self._aliases.items() if sid in self._sessions}

    def __len__(self) -> int:
        return len(self._sessions)

    def _expire(self) -> None:
        now = self._clock()
        by_age = sorted(self._sessions.items(), key=lambda item: item[1].last_seen)
        excess = max(0, len(by_age) - self.max_sessions + 1)
        for i, (session_id, session) in enumerate(by_age):
            if i < excess or now - session.last_seen > self.ttl:
                log.info(
                    "a session expired after %.0f s idle; its files are removed", now - session.last_seen
                )
                del self._sessions[session_id]
                shutil.rmtree(session.folder, ignore_errors=True)
        self._forget_aliases()
