"""Announcements that travel up the layers.

A lower module says what happened; it never imports who wants to know. The
registry (``daemon.workflows``) subscribes the workflows here when it is
imported at start-up, so the lower module and the listeners stay apart, as
Mailman's event subscribers and pretalx's signals keep them.

Today there is one announcement: an item changed (``items`` announces every
change it makes, once). Listeners are called in the order they subscribed,
inside the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from daemon.context import Ctx


@dataclass(frozen=True, eq=False)  # compared by nothing: no __eq__/__hash__ to generate at start-up (issue 19)
class ItemChange:
    """One change to an item: ``what`` happened (created, amended, withdrawn,
    written_procedure, carried), made by ``source`` (proposer, agenda,
    circulation, minutes): a listener may ignore changes it made itself."""

    item_id: str
    what: str
    source: str


ItemListener = Callable[[Ctx, ItemChange], None]

# Filled by daemon.workflows at start-up.
item_listeners: list[ItemListener] = []

# render(ctx, meeting, rows, version) -> the agenda .docx for ``rows``: the records export makes the
# public version of an agenda with the agenda's own renderer, a workflow above the records. Filled by
# daemon.workflows here, in core, so that the registry need not import the export to fill it.
agenda_renderer: list[Callable] = []


def item_changed(ctx: Ctx, change: ItemChange) -> None:
    """Tell every subscribed workflow about ``change``."""
    for listener in list(item_listeners):
        listener(ctx, change)
