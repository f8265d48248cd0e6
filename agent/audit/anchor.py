"""Publish the journal's head hash where the agent cannot rewrite it, so a rewritten journal shows.

The daemon calls ``HeadAnchor.tick()`` from its loop (a publication when the head moved and
``[audit] anchor_every_s`` passed) and ``publish()`` when it stops. Each publication goes to every sink:
the structured log stream (an ``audit_head`` line, which the cluster's log collector ships off the node)
and, on the kubernetes backend, an Event (agent/backends/kubernetes/events.py; the agent may create
Events, never update or delete them). ``chaos-agent audit verify PATH --expected-head HASH`` then
checks that the journal still passes through any published head.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from agent.audit.journal import AuditJournal
from agent.errors import ChaosAgentError

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class HeadMark:
    """One publication: the journal's last record (its seq) and that line's SHA-256."""

    journal: str
    seq: int
    head: str
    key_id: str | None

    @property
    def verify_command(self) -> str:
        return f"chaos-agent audit verify {self.journal} --expected-head {self.head}"


Sink = Callable[[HeadMark], None]


def log_sink(mark: HeadMark) -> None:
    log.info("audit_head", journal=mark.journal, seq=mark.seq, head=mark.head, key_id=mark.key_id,
             verify=mark.verify_command)


@dataclass
class HeadAnchor:
    journal: AuditJournal
    every_s: float
    sinks: list[Sink] = field(default_factory=lambda: [log_sink])
    clock: Callable[[], float] = time.monotonic
    _published: str | None = None
    _at: float | None = None

    def tick(self) -> HeadMark | None:
        """Publish when the head moved since the last publication, at most once per ``every_s``."""
        now = self.clock()
        if self._at is not None and now - self._at < self.every_s:
            return None
        if self.journal.position()[1] == self._published:
            return None
        return self.publish()

    def publish(self) -> HeadMark:
        """Publish the current head to every sink now; a sink that fails is logged, the others still get it."""
        seq, head = self.journal.position()
        mark = HeadMark(journal=str(self.journal.path), seq=seq, head=head, key_id=self.journal.sealer.key_id)
        for sink in self.sinks:
            try:
                sink(mark)
            except ChaosAgentError as e:
                log.warning("audit_head_not_published", sink=getattr(sink, "__name__", repr(sink)),
                            error=str(e)[:300])
        self._published, self._at = head, self.clock()
        return mark
