"""The gates a member's mail passes before anything is done about it.

``authenticate``: with ``[security] require_authentication = true`` a mail
counts only if the receiving server vouches for its sender. That server is
known by its authserv-id (``authserv_id``), the first word of the
``Authentication-Results`` fields it writes. RFC 8601 makes the authserv-id a
``value`` (a token or a quoted string), possibly after comments, possibly
followed by a version number, compared case-insensitively; it is parsed here
from the raw field (never RFC 2047 decoded: an encoded word is not our
server's name). Every field of ours must vouch: DMARC passed for the domain of
the From address actually matched, or DKIM or SPF passed for a domain aligned
with it. One of ours that says otherwise, or that cannot be parsed, is a
failure, never skipped (a forged pass below or above it must not win). Or the
mail carries one of the configured ``trusted_headers`` that the
organisation's own mail server sets on internal mail, compared on the raw
value, every occurrence. Anything else is quarantined as ``spoofed``,
unanswered (the real owner of the address did not write it), and listed in the
chancellery's daily digest.

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

import authres
from authres.core import AuthResError

from daemon.config import Member, Security
from daemon.context import Ctx
from daemon.answers import Outcome, answers_last_hour
from daemon.mail.message import ParsedMail

log = logging.getLogger("klg.security")

# RFC 2045 token: any ASCII but space, controls and tspecials.
_TOKEN = re.compile(r'[!#$%&\'*+\-.0-9A-Z^_`a-z{|}~]+')
_VERSION = re.compile(r"[0-9]+")


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


def _cfws(value: str, i: int) -> int:
    """The index after white space and (nested) comments from ``i``; -1 if a comment is not closed."""
    while i < len(value):
        if value[i] in " \t":
            i += 1
        elif value[i] == "(":
            depth = 0
            while i < len(value):
                if value[i] == "\\":
                    i += 1
                elif value[i] == "(":
                    depth += 1
                elif value[i] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            if i >= len(value):
                return -1
            i += 1
        else:
            break
    return i


def authserv_id(value: str) -> tuple[str | None, str]:
    """(authserv-id, the rest from the first ";") of a raw Authentication-Results
    value, as RFC 8601 section 2.2 writes it: ``[CFWS] authserv-id [CFWS version] ;…``.
    The id is lowercased; (None, "") when the value does not have that form."""
    i = _cfws(value, 0)
    if i < 0 or i >= len(value):
        return None, ""
    if value[i] == '"':
        end = i + 1
        while end < len(value) and value[end] != '"':
            end += 2 if value[end] == "\\" else 1
        if end >= len(value):
            return None, ""
        ident, i = re.sub(r"\\(.)", r"\1", value[i + 1:end]), end + 1
    else:
        found = _TOKEN.match(value, i)
        if not found:
            return None, ""
        ident, i = found[0], found.end()
    i = _cfws(value, i)
    version = _VERSION.match(value, i) if i >= 0 else None
    if version:
        i = _cfws(value, version.end())
    if i < 0 or not value[i:].startswith(";"):
        return None, ""
    return ident.lower(), value[i:]


def _mentions(value: str, ids: tuple[str, ...]) -> bool:
    lowered = value.lower()
    return any(re.search(rf"(?<![\w.-]){re.escape(i)}(?![\w-])", lowered) for i in ids)


def _prop(result, type_: str, name: str) -> str | None:
    for p in getattr(result, "properties", None) or []:
        if p.type == type_ and p.name == name:
            return str(p.value) if p.value is not None else None
    return None


def _vouches(results, from_domain: str, server: str) -> Verdict:
    """Whether one of our server's results vouches for ``from_domain``."""
    seen = []
    verdict = None
    for result in results:
        method, outcome = (result.method or "").lower(), (result.result or "").lower()
        if method == "dmarc":
            target = (_prop(result, "header", "from") or "").strip().strip(".").lower()
            seen.append(f"dmarc={outcome}" + (f" header.from={target}" if target else ""))
            if target == from_domain and outcome != "pass":
                return Verdict(False, f"{server}: dmarc={outcome} for {from_domain}")
            if outcome == "pass" and target == from_domain:
                verdict = verdict or Verdict(True, f"dmarc=pass for {from_domain} ({server})")
        elif method == "dkim":
            target = _prop(result, "header", "d") or _prop(result, "header", "i")
            seen.append(f"dkim={outcome}" + (f" d={target}" if target else ""))
            if outcome == "pass" and aligned(target, from_domain):
                verdict = verdict or Verdict(True, f"dkim=pass for {target}, aligned with {from_domain} ({server})")
        elif method == "spf":
            target = _prop(result, "smtp", "mailfrom")
            seen.append(f"spf={outcome}" + (f" mailfrom={target}" if target else ""))
            if outcome == "pass" and aligned(target, from_domain):
                verdict = verdict or Verdict(True, f"spf=pass for {target}, aligned with {from_domain} ({server})")
    return verdict or Verdict(False, f"{server} did not vouch for {from_domain}: {', '.join(seen) or 'no results'}")


def _trusted(mail: ParsedMail, security: Security) -> str | None:
    """The configured trusted header the mail carries (every occurrence equal to it, raw), or None."""
    for name, wanted in security.trusted_headers:
        values = [" ".join(v.split()).casefold() for v in mail.raw_header(name)]
        if values and all(v == " ".join(wanted.split()).casefold() for v in values):
            return f"{name}: {wanted}"
    return None


def verify_sender(mail: ParsedMail, security: Security) -> Verdict:
    """Whether the receiving server vouches for ``mail.sender`` (see the module docstring)."""
    if "@" not in (mail.sender or "") or mail.sender_problem:
        return Verdict(False, "the mail has no usable From address")
    trusted = _trusted(mail, security)
    if trusted:
        return Verdict(True, f"internal mail ({trusted})")
    from_domain = mail.sender.rpartition("@")[2].lower()
    ids = tuple(i.lower() for i in security.authserv_ids)
    verdicts: list[Verdict] = []
    for value in mail.raw_header("Authentication-Results"):  # top first: the newest, our server's own
        ident, rest = authserv_id(value)
        if ident is None:
            if _mentions(value, ids):
                return Verdict(False, f"an Authentication-Results field naming {', '.join(ids)} cannot be parsed")
            continue
        if ident not in ids:
            continue
        try:
            parsed = authres.all_features().parse_value("klg.invalid" + rest)
        except (AuthResError, ValueError, IndexError, AttributeError, TypeError, RecursionError):
            return Verdict(False, f"an Authentication-Results field of {ident} cannot be parsed")
        verdicts.append(_vouches(parsed.results, from_domain, ident))
    if not verdicts:
        shown = ", ".join(ids) or "(no authserv_id configured)"
        return Verdict(False, f"no Authentication-Results from {shown} and no trusted internal header")
    refused = [v for v in verdicts if not v.ok]
    if refused:
        detail = "" if len(verdicts) == 1 else f" ({len(refused)} of {len(verdicts)} fields of ours disagree)"
        return Verdict(False, refused[0].reason + detail)
    return verdicts[0]


def authenticate(ctx: Ctx, mail: ParsedMail, member: Member) -> Outcome | None:
    """Gate: quarantine a member's mail as ``spoofed`` unless the receiving server vouches for it."""
    security = ctx.config.security
    if not security.require_authentication:
        return None
    verdict = verify_sender(mail, security)
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
