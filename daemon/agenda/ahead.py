"""Documents converted ahead: a member's attachment becomes its clean PDF for
the meeting book as soon as it has arrived, not at 14:00 on Monday.

The final agenda needs every planned item's documents as clean PDFs
(:func:`daemon.agenda.book.job`, kept in ``pdf_cache`` by the document's
SHA-256). Made at the moment it is sent, that is one LibreOffice conversion per
document, all at once, for every group on the machine. The engine instead asks
:func:`pending` between mails (outside any transaction) and makes what it
lists, so at 14:00 only the agenda itself remains. A document that changes
arrives with a new SHA-256 and is listed again; one that could not be made is
in ``pdf_cache`` with its error and is not listed again.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from daemon.items import ItemState
from daemon.refs import Ref
from daemon.store import Store, iso

# The meeting book's code (and the PDF cleaner's) is imported when a document waits (start-up, issue 19).
job = Ref("daemon.agenda.book:job")

if TYPE_CHECKING:  # an annotation only
    from daemon import documents

# Only documents that may still go out: a handled or withdrawn item's are never in a book.
_PENDING = """
SELECT a.sha256, MIN(a.name) AS name FROM attachments a
JOIN items i ON i.id = a.item_id
LEFT JOIN pdf_cache c ON c.source_sha256 = a.sha256
LEFT JOIN conversion_attempts w ON w.key = a.sha256
WHERE a.owner = 'item' AND a.removed = 0 AND i.state IN (?, ?) AND c.source_sha256 IS NULL
  AND (w.key IS NULL OR w.retry_at <= ?)
GROUP BY a.sha256 ORDER BY MIN(a.id) LIMIT ?
"""


def pending(store: Store, now: datetime, limit: int = 50) -> list[documents.Job]:
    """Jobs for the planned items' documents not made yet, oldest first (at most ``limit``);
    one whose conversion failed for the moment waits until its ``retry_at``."""
    rows = store.all(_PENDING, [ItemState.PLANNED.value, ItemState.CIRCULATING.value, iso(now), limit])
    return [job(store, r["name"], r["sha256"]) for r in rows]
