"""What an audience outside the group may see of an item: the one deciding place.

Members are the group and see everything. Every other audience (the council,
the union group, the intranet, the registrar's copy, guests, a records
export) gets what :func:`outside` allows: a secret item shows as its number,
"Sekretessbelagt ärende", its case number and the provision (no title, no
text, no documents), and a secret document of a public item is left out and
listed as withheld, without its name (a name can say what it is about).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from daemon.context import Ctx
from daemon.records import secrecy

SECRET_TITLE = {"sv": "Sekretessbelagt ärende", "en": "Secret item"}


@dataclass(frozen=True)
class Disclosure:
    """What may leave the group of one item."""

    item_id: str | None
    language: str
    case_number: str | None = None
    item_secret: dict | None = None  # the marking on the whole item
    document_secrets: dict[str, dict] = field(default_factory=dict)  # lower-case name -> marking

    @property
    def secret(self) -> bool:
        return self.item_secret is not None

    def may_see(self, attachment: dict) -> bool:
        """Whether this document (an ``attachments`` row, or anything with a ``name``) may leave the group."""
        return not self.secret and attachment["name"].lower() not in self.document_secrets

    def title(self, title: str) -> str:
        """The title an outside audience sees."""
        if not self.secret:
            return title
        return f"{SECRET_TITLE[self.language]} ({self.marking_text()})"

    def marking_text(self) -> str:
        """'Dnr KS 2026/123, OSL 39 kap. 3 §' for a secret item."""
        parts = []
        if self.case_number:
            parts.append(f"{'Dnr' if self.language == 'sv' else 'Case'} {self.case_number}")
        if self.item_secret:
            parts.append(self.item_secret["provision"])
        return ", ".join(parts)

    def withheld(self, attachments: list[dict]) -> list[str]:
        """One line per document left out, naming the provision but not the document."""
        out = []
        for n, a in enumerate(attachments, start=1):
            if self.may_see(a):
                continue
            row = self.item_secret or self.document_secrets[a["name"].lower()]
            out.append(f"{'Handling' if self.language == 'sv' else 'Document'} {n} "
                       f"({secrecy.label(row, self.language)})")
        return out


def outside(ctx: Ctx, item_id: str | None) -> Disclosure:
    """The disclosure of ``item_id`` (None: a standing item, nothing secret) to an outside audience."""
    if not item_id:
        return Disclosure(None, ctx.language)
    item = ctx.store.item(item_id) or {}
    return Disclosure(item_id, ctx.language, item.get("case_number"), secrecy.item_marking(ctx.store, item_id),
                      secrecy.document_markings(ctx.store, item_id))


def documents(ctx: Ctx, item_id: str) -> tuple[list[dict], list[str]]:
    """(the item's documents an outside audience may get, the lines saying what was withheld)."""
    d = outside(ctx, item_id)
    rows = ctx.store.attachments(item_id)
    return [a for a in rows if d.may_see(a)], d.withheld(rows)


def agenda_rows(ctx: Ctx, rows: list[dict]) -> list[dict]:
    """An agenda's rows as an outside audience sees them."""
    out = []
    for r in rows:
        d = outside(ctx, r.get("id") if r.get("type") == "item" else None)
        if d.secret:
            out.append({**r, "title": d.title(r.get("title", "")), "presenter": "", "attachments": [],
                        "description": "", "outside": True})
        elif d.document_secrets:
            names = [n for n in r.get("attachments", []) if n.lower() not in d.document_secrets]
            out.append({**r, "attachments": names, "outside": True})
        else:
            out.append({**r, "outside": True})
    return out


def minutes_content(ctx: Ctx, content: dict) -> tuple[dict, int]:
    """The minutes' content an outside audience gets, and how many rows were masked."""
    rows, masked, secret_titles = [], 0, set()
    for r in content["rows"]:
        d = outside(ctx, r.get("id"))
        if d.secret:
            masked += 1
            secret_titles.add(r["title"])
            rows.append({**r, "title": d.title(r["title"]), "presenter": "", "notes": "", "responsible": "",
                         "responsible_email": None, "next_step": "", "masked": True})
        else:
            rows.append(r)
    followups = [f for f in content["followups"] if f.get("title") not in secret_titles
                 and not outside(ctx, _followup_item(ctx, f)).secret]  # one from a secret item of an earlier meeting
    return {**content, "rows": rows, "followups": followups}, masked


def _followup_item(ctx: Ctx, followup: dict) -> str | None:
    row = ctx.store.one("SELECT item_id FROM followups WHERE id = ?", [followup.get("id")])
    return row["item_id"] if row else None
