"""What a workflow step gets: the config, the store and ``now``.

Workflows never read the clock and never touch a mailbox: they read and write
the store and queue mail through :meth:`Ctx.send`, which renders the mail text
and stores the message in the outbox in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Callable, Iterable

from daemon import outbox, texts
from daemon.config import Config, Member
from daemon.mail.outgoing import OutAttachment, Outgoing
from daemon.schedule import calendar_for
from daemon.store import Store

if TYPE_CHECKING:  # an annotation only: parsing mail is loaded when mail comes (start-up, issue 19)
    from daemon.mail.message import ParsedMail


# What is put before the subject of a mail that goes to members only: mark(ctx, item, meeting) -> text or
# None. The registry fills it (daemon.records.secrecy.subject_mark: a secret item's mail says so, so it is
# not forwarded by mistake); core knows no workflow.
subject_marks: list[Callable[["Ctx", str | None, str | None], str | None]] = []


@dataclass
class Ctx:
    """What a step or handler gets: the config, the store and ``now``."""

    config: Config
    store: Store
    now: datetime  # timezone-aware

    @property
    def local_now(self) -> datetime:
        return self.now.astimezone(self.config.group.timezone)

    @property
    def today(self) -> date:
        return self.local_now.date()

    @property
    def calendar(self):
        """The group's meeting calendar (shared, so holidays and the RRULE are worked out once)."""
        return calendar_for(self.config.schedule, self.config.group.timezone, self.config.data_dir)

    @property
    def language(self) -> str:
        return self.config.group.language

    def event(self, what: str, **kwargs: Any) -> None:
        self.store.event(self.now, what, **kwargs)

    def base_context(self) -> dict[str, Any]:
        g = self.config.group
        return {"group": g.name, "short": g.short, "organisation": g.organisation, "address": g.address,
                "today": self.today}

    def text(self, template: str, context: dict[str, Any]) -> texts.Text:
        return texts.render(self.config.templates_dir, self.language, template, {**self.base_context(), **context})

    def send(self, template: str, to: Iterable[Member | str], context: dict[str, Any], *, kind: str,
             cc: Iterable[Member | str] = (), item: str | None = None, meeting: str | None = None,
             ref: str | None = None, reply_to: ParsedMail | None = None,
             attachments: Iterable[OutAttachment] = ()) -> str:
        """Render ``template`` and queue it; return the new Message-ID. An answer to a
        member's mail passes ``reply_to=mail``: it threads the answer and is what the
        storm guard counts (``[security] replies_per_sender_per_hour``)."""
        to_addrs = _addresses(to)
        cc_addrs = [a for a in _addresses(cc) if a not in to_addrs]
        text = self.text(template, context)
        out = Outgoing(
            to=to_addrs,
            cc=cc_addrs,
            subject=self._marked(text.subject, to_addrs + cc_addrs, item, meeting),
            body=text.body,
            attachments=list(attachments),
            in_reply_to=reply_to.message_id if reply_to and reply_to.has_message_id else None,
            references=reply_to.references if reply_to else [],
        )
        g = self.config.group
        return outbox.queue(self.store, out, kind=kind, sender=g.address, sender_name=g.name, domain=g.domain,
                            now=self.now, item=item, meeting=meeting, ref=ref,
                            answer_to=reply_to.sender if reply_to and reply_to.sender else None)

    def _marked(self, subject: str, addresses: list[str], item: str | None, meeting: str | None) -> str:
        """``subject`` with the marks of :data:`subject_marks`, for a mail to members only."""
        if not (item or meeting) or not all(self.config.member_by_address(a) for a in addresses):
            return subject
        for mark in subject_marks:
            text = mark(self, item, meeting)
            if text and text not in subject:
                subject = f"{text} {subject}"
        return subject

    def chancellery(self) -> list[Member]:
        return self.config.with_role("chancellery") or self.config.with_role("chair")


def _addresses(people: Iterable[Member | str]) -> list[str]:
    seen: list[str] = []
    for p in people:
        addr = (p.email if isinstance(p, Member) else p).lower()
        if addr not in seen:
            seen.append(addr)
    return seen
