"""Throttling as Graph's Outlook service does it, and the throttling storms a test switches on.

Sources:
- [LIMITS]  "Microsoft Graph service-specific throttling limits", Outlook service, limits per mailbox
            (the include file in microsoft-graph-docs-contrib): per app ID and mailbox combination,
            "10,000 API requests in a 10-minute period", "Four concurrent requests", "150 megabytes (MB)
            upload (PATCH, POST, PUT) in a 5-minute period".
- [CONC]    The answer to the fifth concurrent request, as captured in magodo/terraform-provider-outlook
            issue #21 and alcionai/corso issue #3695: HTTP 429, code ApplicationThrottled, message
            "Application is over its MailboxConcurrency limit."
- [G-THR]   the generic 429 with Retry-After (errors.py), used for the request and upload budgets and
            for a throttling storm; 503 with Retry-After for a storm of "service unavailable".
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque
from contextlib import contextmanager
from dataclasses import dataclass

from tests.graph.errors import GraphError, throttled, unavailable


@dataclass
class Limits:
    """The per app-and-mailbox budgets [LIMITS]; tests may lower them to hit them quickly."""

    concurrency: int = 4
    requests: int = 10_000
    request_window: float = 600.0
    upload_bytes: int = 150 * 1024 * 1024
    upload_window: float = 300.0
    retry_after: int = 1  # the Retry-After (seconds) the concurrency refusal names


class Throttle:
    """Admits or refuses each Graph request, per (app id, mailbox)."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.lock = threading.Lock()
        self.storm: deque[tuple[int, int, str | None]] = deque()
        self.in_flight: Counter[tuple[str, str]] = Counter()
        self.peak: Counter[tuple[str, str]] = Counter()  # highest concurrency admitted, for assertions
        self.requests: dict[tuple[str, str], deque[float]] = {}
        self.uploads: dict[tuple[str, str], deque[tuple[float, int]]] = {}

    def add_storm(self, times: int, status: int, retry_after: int, mailbox: str | None) -> None:
        with self.lock:
            self.storm.extend([(status, retry_after, mailbox)] * times)

    @contextmanager
    def admit(self, key: tuple[str, str], upload: int):
        """Raise the refusal Graph would give, or hold a concurrency slot for the request's duration.
        ``upload`` is the body size of a PATCH/POST/PUT (0 for reads)."""
        with self.lock:
            self._refuse_if_throttled(key, upload, time.monotonic())
            self.in_flight[key] += 1
            self.peak[key] = max(self.peak[key], self.in_flight[key])
        try:
            yield
        finally:
            with self.lock:
                self.in_flight[key] -= 1

    def _refuse_if_throttled(self, key: tuple[str, str], upload: int, now: float) -> None:
        if self.storm and self.storm[0][2] in (None, key[1]):
            status, retry_after, _ = self.storm.popleft()
            raise throttled(retry_after) if status == 429 else unavailable(retry_after)
        if self.in_flight[key] >= self.limits.concurrency:  # [CONC]
            raise GraphError(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.",
                             headers={"Retry-After": str(self.limits.retry_after)})
        # Every request accrues against the budget, refused ones too ([G-THR]: "all requests accrue").
        seen = self.requests.setdefault(key, deque())
        while seen and seen[0] <= now - self.limits.request_window:
            seen.popleft()
        seen.append(now)
        if len(seen) > self.limits.requests:
            raise throttled(math.ceil(seen[0] + self.limits.request_window - now))
        if upload:
            sent = self.uploads.setdefault(key, deque())
            while sent and sent[0][0] <= now - self.limits.upload_window:
                sent.popleft()
            if sum(size for _, size in sent) + upload > self.limits.upload_bytes:
                raise throttled(math.ceil(sent[0][0] + self.limits.upload_window - now) if sent else 1)
            sent.append((now, upload))
