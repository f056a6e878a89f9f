"""The gates a member's mail passes before anything is done about it.

``authenticate``: with ``[security] require_authentication = true`` a mail
counts only if the receiving server vouches for its sender: the topmost
``Authentication-Results`` header written by one of the configured
``authserv_id``\\ s says DMARC passed for the From domain, or DKIM or SPF passed
for a domain aligned with it; or the mail carries one of the configured
``trusted_headers`` that the organisation's own mail server sets on internal
mail. Anything else is quarantined as ``spoofed``, unanswered (the real owner
of the address did not write it), and listed in the chancellery's daily digest.

``storm_guard``: a sender who got ``replies_per_sender_per_hour`` automatic
answers in the last hour is not answered again, and their further mail waits
in quarantine (``rate-limited``) for the chancellery, so one broken client or
mail loop cannot make klg send unbounded mail.

Both are registered in ``workflows.GATES``; SECURITY.md explains the model.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from email.message import Message

import authres
from authres.core import AuthResError

from daemon.config import Member, Security
from daemon.context import Ctx
from daemon.intake import Outcome, answers_last_hour
from daemon.mail.message import ParsedMail, decode_value

log = logging.getLogger("klg.security")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str  # how the sender was verified, or why not; for the audit log and the digest


def aligned(domain: str | None, from_domain: str) -> bool:
    """Relaxed alignment without a public-suffix list: the same domain, or one a
    subdomain of the other, and never a bare top-level domain."""
    if not domain:
        return False
    domain = domain.strip().strip(".").lower()
    if "@" in domain:
        domain = domain.rpartition("@")[2]
    if "." not in domain or "." not in from_domain:
        return False
    return domain == from_domain or domain.endswith("." + from_domain) or from_domain.endswith("." + domain)


def _prop(result, type_: str, name: str) -> str | None:
    for p in getattr(result, "properties", None) or []:
        if p.type == type_ and p.name == name:
            return str(p.value) if p.value is not None else None
    return None


def _unfold(value) -> str:
    return re.sub(r"\r?\n[ \t]+", " ", decode_value(value)).strip()


def verify_sender(headers: Message | None, sender: str, security: Security) -> Verdict:
    """Whether the receiving server vouches for ``sender`` (see the module docstring)."""
    if headers is None or "@" not in (sender or ""):
        return Verdict(False, "the mail has no usable From address")
    for name, wanted in security.trusted_headers:
        for value in headers.get_all(name) or []:
            if _unfold(value).casefold() == wanted.casefold():
                return Verdict(True, f"internal mail ({name}: {wanted})")
    from_domain = sender.rpartition("@")[2].lower()
    ours = None
    for value in headers.get_all("Authentication-Results") or []:
        try:
            parsed = authres.all_features().parse_value(_unfold(value))
        except (AuthResError, ValueError, IndexError, AttributeError):
            continue  # unreadable, so not from a server we trust either
        if parsed.authserv_id in security.authserv_ids:
            ours = parsed  # headers are prepended: the first one of ours is the newest, written by our server
            break
    if ours is None:
        ids = ", ".join(security.authserv_ids) or "(no authserv_id configured)"
        return Verdict(False, f"no Authentication-Results from {ids} and no trusted internal header")
    seen = []
    for result in ours.results:
        method, outcome = (result.method or "").lower(), (result.result or "").lower()
        if method == "dmarc":
            target = _prop(result, "header", "from")
            seen.append(f"dmarc={outcome}")
            if outcome == "pass" and (target is None or target.strip().lower() == from_domain):
                return Verdict(True, f"dmarc=pass for {from_domain} ({ours.authserv_id})")
        elif method == "dkim":
            target = _prop(result, "header", "d") or _prop(result, "header", "i")
            seen.append(f"dkim={outcome}" + (f" d={target}" if target else ""))
            if outcome == "pass" and aligned(target, from_domain):
                return Verdict(True, f"dkim=pass for {target}, aligned with {from_domain} ({ours.authserv_id})")
        elif method == "spf":
            target = _prop(result, "smtp", "mailfrom")
            seen.append(f"spf={outcome}" + (f" mailfrom={target}" if target else ""))
            if outcome == "pass" and aligned(target, from_domain):
                return Verdict(True, f"spf=pass for {target}, aligned with {from_domain} ({ours.authserv_id})")
    return Verdict(False, f"{ours.authserv_id} did not vouch for {from_domain}: {', '.join(seen) or 'no results'}")


def authenticate(ctx: Ctx, mail: ParsedMail, member: Member) -> Outcome | None:
    """Gate: quarantine a member's mail as ``spoofed`` unless the receiving server vouches for it."""
    security = ctx.config.security
    if not security.require_authentication:
        return None
    verdict = verify_sender(mail.headers, mail.sender, security)
    if verdict.ok:
        return None
    log.warning("%s claiming to be from %s quarantined as spoofed: %s", mail.message_id, mail.sender, verdict.reason)
    return Outcome("spoofed", "quarantine", detail=verdict.reason)


def storm_guard(ctx: Ctx, mail: ParsedMail, member: Member) -> Outcome | None:
    """Gate: after ``replies_per_sender_per_hour`` automatic answers to a member in
    the last hour, their further mail goes to quarantine unanswered."""
    limit = ctx.config.security.replies_per_sender_per_hour
    answered = sum(answers_last_hour(ctx, address) for address in member.addresses)
    if answered < limit:
        return None
    log.warning("%s from %s quarantined unanswered: %d automatic answers in the last hour (limit %d)",
                mail.message_id, mail.sender, answered, limit)
    return Outcome("rate-limited", "quarantine",
                   detail=f"{answered} automatic answers to {member.email} in the last hour (limit {limit})")
