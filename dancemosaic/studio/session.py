"""Per-session studio state: the version history (undo / redo), candidates, and the session store.

History is append-only: every generate or edit adds a version whose parent is the version it was
made from, so undo walks to the parent and nothing the user made is ever dropped (an edit after an
undo starts a branch; the older branch stays in the list). A failed operation never reaches the
history, because versions are only added once the engine has returned.

The store keys sessions by Gradio's ``session_hash`` (one per browser tab or ``gradio_client``
``Client``), so the UI and the API endpoints share one history per session. Sessions expire after
``ttl`` seconds without a request, and their temporary folders go with them.
"""

from __future__ import annotations

import logging
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
    _redo: list[int] = field(default_factory=list)

    def check_room(self) -> None:
        """Raise before any work when the history is full (nothing is ever dropped silently)."""
        if len(self.versions) >= MAX_VERSIONS:
            raise ValueError(
                f"this session holds {MAX_VERSIONS} versions, the most it keeps: export the ones you "
                "want and reload the page to start a new session"
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
        self.current = len(self.versions) - 1
        self._redo.clear()
        return self.current

    def undo(self) -> Dance:
        if self.current is None or self.versions[self.current].parent is None:
            raise ValueError("nothing to undo: this is the first version")
        self._redo.append(self.current)
        self.current = self.versions[self.current].parent
        return self.dance

    def redo(self) -> Dance:
        if not self._redo:
            raise ValueError("nothing to redo")
        self.current = self._redo.pop()
        return self.dance

    def checkout(self, index: int) -> Dance:
        """Make version ``index`` current (picked from the version list)."""
        if not 0 <= index < len(self.versions):
            raise ValueError(f"there is no version {index + 1}; pick one of 1-{len(self.versions)}")
        self.current = index
        self._redo.clear()
        return self.dance

    @property
    def can_undo(self) -> bool:
        return self.current is not None and self.versions[self.current].parent is not None

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)


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
        self._lock = threading.Lock()

    def get(self, session_id: str) -> Session:
        with self._lock:
            self._expire()
            session = self._sessions.get(session_id)
            if session is None:
                # A random folder name: files under root are served to the browser by URL.
                folder = self.root / uuid.uuid4().hex
                folder.mkdir()
                rate = RateLimit(self.requests_per_minute, clock=self._clock)
                session = self._sessions[session_id] = Session(folder, last_seen=self._clock(), rate=rate)
            session.last_seen = self._clock()
            return session

    def close(self, session_id: str) -> None:
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is not None:
            shutil.rmtree(session.folder, ignore_errors=True)

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
