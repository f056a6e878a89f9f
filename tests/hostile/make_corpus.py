"""Writes the hostile-mail corpus in this folder, the same bytes every time.

    .venv/bin/python tests/hostile/make_corpus.py

One file per attack of issue 11 (and issue 12's parser shapes), named by
family: ``halt-*`` (mail that used to stop every pass), ``forged-*`` (a
stranger posing as a member), ``auth-*`` (forged or confusing
Authentication-Results; read with ``require_authentication = true``),
``auto-*`` (auto-replies and list mail), ``report-*`` (delivery reports and
read receipts), ``parser-*`` (real clients' shapes that lost documents or
garbled text) and ``mutation-*`` (random byte changes of an ordinary
proposal, seeded). ``tests/test_hostile_corpus.py`` says where each must go.

Two placeholders stand for Message-IDs klg makes at run time; the test puts
the real ones in before it drops a file: ``<ACK-ID@klg.invalid>`` (the
acknowledgement of Maria's first proposal) and ``<DRAFT-ID@klg.invalid>`` (the
draft agenda of 1 December).
"""

from __future__ import annotations

import base64
import binascii
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
MARIA = "maria.holm@example.org"
CHAIR = "karin.berg@example.org"
EVIL = "evil@attacker.example"
GROUP = "klg@example.org"
DATE = "Mon, 30 Nov 2026 10:30:00 +0100"
ACK = "<ACK-ID@klg.invalid>"
DRAFT = "<DRAFT-ID@klg.invalid>"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n" \
      b"trailer << /Root 1 0 R >>\n%%EOF\n"


def mail(name: str, headers: list[str], body: str | bytes = "Tid: 10 min\n\nBeskrivning av ärendet.\n",
         sender: str | None = f"Maria Holm <{MARIA}>", subject: str | None = "Ett förslag") -> bytes:
    """A message from literal header lines; CRLF line ends; 8-bit text as UTF-8."""
    lines = []
    if sender is not None:
        lines.append(f"From: {sender}")
    lines += [f"To: {GROUP}", f"Date: {DATE}", f"Message-ID: <{name}@corpus.example>"]
    if subject is not None:
        lines.append(f"Subject: {subject}")
    lines += headers
    head = "\r\n".join(lines).encode("utf-8", "surrogateescape")
    data = body if isinstance(body, bytes) else body.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    return head + b"\r\n\r\n" + data


def multipart(boundary: str, parts: list[str | bytes], subtype: str = "mixed") -> tuple[list[str], bytes]:
    body = b""
    for part in parts:
        part = part if isinstance(part, bytes) else part.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
        body += f"--{boundary}\r\n".encode() + part + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return ["MIME-Version: 1.0", f'Content-Type: multipart/{subtype}; boundary="{boundary}"'], body


TEXT = "Content-Type: text/plain; charset=utf-8\n\nTid: 10 min\n\nSe bilagan.\n"


def b64(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii")


def nested(kind: str, depth: int) -> tuple[list[str], str]:
    part = "Content-Type: text/plain\n\nDjupt.\n"
    for level in range(depth):
        if kind == "multipart":
            part = f'Content-Type: multipart/mixed; boundary="n{level}"\n\n--n{level}\n{part}\n--n{level}--\n'
        else:
            part = f"Content-Type: message/rfc822\n\nFrom: {MARIA}\nSubject: nivå {level}\n{part}"
    head, _, body = part.partition("\n\n")
    return ["MIME-Version: 1.0", head], body


def halting() -> dict[str, bytes]:
    out = {
        "halt-subject-utf7": mail("halt-subject-utf7", [], subject="=?utf-7?q?+2AA-Budget?="),
        "halt-subject-unicode-escape": mail("halt-subject-unicode-escape", [], subject="=?unicode_escape?q?=5Cud800_Budget?="),
        "halt-subject-raw-unicode-escape": mail("halt-subject-raw-unicode-escape", [],
                                                subject="=?raw_unicode_escape?q?=5Cud83d_Budget?="),
        "halt-subject-unknown-charset": mail("halt-subject-unknown-charset", [], subject="=?x-klingon?q?Qapla=E4?="),
        "halt-subject-broken-utf8": mail("halt-subject-broken-utf8", [], subject="=?utf-8?q?Budget_=ED=A0=80=FF_2027?="),
        "halt-references-utf7": mail("halt-references-utf7", ["References: =?utf-7?q?+2AA-?= <x@y.example>",
                                                              "In-Reply-To: =?unicode_escape?q?=5Cudc80?="]),
        "halt-from-name-utf7": mail("halt-from-name-utf7", [], sender=f"=?utf-7?q?+2AA-Maria?= <{MARIA}>"),
        "halt-to-thousands-of-words": mail("halt-to-thousands-of-words",
                                           ["Cc: " + "\r\n ".join(["=?utf-8?q?(=C3=A5?="] * 3000)]),
        "halt-to-nested-comments": mail("halt-to-nested-comments", ["Cc: " + "(" * 5000 + GROUP]),
        "halt-million-digits": mail("halt-million-digits", [], body="Tid: " + "9" * 1_000_000 + "\n\nText.\n"),
        "halt-meeting-9999": mail("halt-meeting-9999", [], body="Möte: 9999-12-31\n\nText.\n"),
        "halt-header-fields": mail("halt-header-fields", [f"X-Filler-{n}: {n}" for n in range(5000)]),
        "halt-header-field-long": mail("halt-header-field-long", ["X-Long: " + "a" * 300_000]),
    }
    for kind in ("multipart", "rfc822"):
        head, body = nested(kind, 1000)
        out[f"halt-nested-{kind}-1000"] = mail(f"halt-nested-{kind}-1000", head, body)
    head, body = multipart("many", [f"Content-Type: text/plain\nContent-Disposition: attachment; filename=\"{n}.txt\"\n\n{n}"
                                    for n in range(1500)])
    out["halt-parts-1500"] = mail("halt-parts-1500", head, body)
    runs = ("QUJD" * 50_000 + " ") * 8  # 1.6 MB of base64-like runs just shorter than the lifted size
    out["halt-base64-like-runs"] = mail("halt-base64-like-runs", [], body=runs, sender="Spam <offer@elsewhere.example>",
                                        subject="Erbjudande")
    return out


def forged() -> dict[str, bytes]:
    shapes = {
        "forged-display-name-address": f"{MARIA} <{EVIL}>",
        "forged-encoded-word-address": f"=?utf-8?q?maria.holm=40example.org?= <{EVIL}>",
        "forged-encoded-word-only": "=?utf-8?q?maria.holm=40example.org?=",
        "forged-cve-2023-27043": f"{MARIA})<{EVIL}>",
        "forged-paren-angle": f"{MARIA}(<{EVIL}>",
        "forged-two-addresses": f"{MARIA}, {EVIL}",
        "forged-group": f"KLG: {MARIA};",
        "forged-semicolons": f"{MARIA}; {EVIL}",
        "forged-zero-width": "Maria Holm <maria.h\u200bolm@example.org>",
        "forged-bidi": "Maria Holm <maria.holm@example.org\u202e>",
    }
    out = {name: mail(name, [], sender=sender) for name, sender in shapes.items()}
    out["forged-two-from-fields"] = mail("forged-two-from-fields", [f"From: {EVIL}"])
    out["forged-sender-header"] = mail("forged-sender-header", [f"Sender: {MARIA}", f"Reply-To: {MARIA}"],
                                       sender=f"Maria Holm <{EVIL}>")
    out["forged-chair-approval"] = mail("forged-chair-approval", [f"In-Reply-To: {DRAFT}", f"References: {DRAFT}"],
                                        body="Godkänd\n", sender=f"{CHAIR} <{EVIL}>",
                                        subject="SV: [KLG 2026-12-01] Utkast till dagordning")
    out["forged-withdrawal"] = mail("forged-withdrawal", [f"In-Reply-To: {ACK}", f"References: {ACK}"], body="ÅTERKALLA\n",
                                    sender=f"=?utf-8?q?maria.holm=40example.org?= <{EVIL}>",
                                    subject="SV: [KLG-2026-001] Mottaget: Budgetuppföljning")
    return out


def auth() -> dict[str, bytes]:
    ours_fail = "Authentication-Results: mx.example.org; dmarc=fail (p=reject) header.from=example.org; spf=fail"
    forged_pass = "Authentication-Results: mx.example.org; dmarc=pass header.from=example.org"
    cases = {
        "auth-forged-pass-above": [forged_pass, ours_fail],
        "auth-forged-pass-below": [ours_fail, forged_pass],
        "auth-unparseable-ours-then-pass": ["Authentication-Results: mx.example.org; ;; dmarc = = pass ((", forged_pass],
        "auth-id-in-capitals": ["Authentication-Results: MX.Example.ORG; dmarc=fail header.from=example.org", forged_pass],
        "auth-id-with-version": ["Authentication-Results: mx.example.org 1; dmarc=fail header.from=example.org",
                                 forged_pass],
        "auth-dmarc-for-attacker-domain": ["Authentication-Results: mx.example.org; dmarc=pass header.from=attacker.example"],
        "auth-dkim-of-attacker": ["Authentication-Results: mx.example.org; dkim=pass header.d=attacker.example; spf=none"],
        "auth-dmarc-pass-without-domain": ["Authentication-Results: mx.example.org; dmarc=pass"],
        "auth-encoded-authserv-id": ["Authentication-Results: =?utf-8?q?mx.example.org?=; dmarc=pass header.from=example.org"],
        "auth-comment-injection": ["Authentication-Results: evil.example (mx.example.org; dmarc=pass "
                                   "header.from=example.org); none"],
        "auth-trusted-header-encoded": ["X-MS-Exchange-Organization-AuthAs: =?utf-8?q?Internal?="],
        "auth-trusted-header-twice": ["X-MS-Exchange-Organization-AuthAs: Anonymous",
                                      "X-MS-Exchange-Organization-AuthAs: Internal"],
        "auth-good-dmarc": ["Authentication-Results: mx.example.org; dmarc=pass header.from=example.org"],
        "auth-good-quoted-id-version": ['Authentication-Results: (checked) "mx.example.org" 1 (v1); dkim=pass '
                                        "header.d=example.org header.s=s1"],
        "auth-good-internal": ["X-MS-Exchange-Organization-AuthAs: Internal"],
    }
    out = {}
    for name, fields in cases.items():
        raw = mail(name, [], sender=f"{MARIA} <{EVIL}>" if name == "auth-dmarc-for-attacker-domain" else None)
        # the receiving server's fields go on top, as a server adds them
        if name != "auth-dmarc-for-attacker-domain":
            raw = f"From: Maria Holm <{MARIA}>\r\n".encode() + raw
        out[name] = "\r\n".join(fields).encode() + b"\r\n" + raw
    return out


def auto() -> dict[str, bytes]:
    reply = [f"In-Reply-To: {ACK}", f"References: {ACK}"]
    ack_subject = "[KLG-2026-001] Mottaget: Budgetuppföljning"
    oof = "Jag är ledig till och med 4 december och läser inte min e-post.\n"
    out = {
        "auto-x-auto-response-suppress": mail("auto-x-auto-response-suppress", [*reply, "X-Auto-Response-Suppress: All"],
                                              oof, subject=f"SV: {ack_subject}"),
        "auto-x-loop": mail("auto-x-loop", [*reply, f"X-Loop: {MARIA}"], oof, subject=f"Re: {ack_subject}"),
        "auto-precedence-auto-reply": mail("auto-precedence-auto-reply", [*reply, "Precedence: auto_reply"], oof,
                                           subject=f"Re: {ack_subject}"),
        "auto-vacation-mailer": mail("auto-vacation-mailer", [*reply, "X-Mailer: vacation 1.2.7"], oof,
                                     subject=f"Re: {ack_subject}"),
        "auto-precedence-bulk": mail("auto-precedence-bulk", ["Precedence: bulk"], "Veckobrev från förvaltningen.\n",
                                     subject="Veckobrev vecka 49"),
        "auto-list-id": mail("auto-list-id", ["List-Id: <chefer.example.org>", "List-Unsubscribe: <mailto:x@example.org>"],
                             "Tid: 15 min\n\nFörslag via chefslistan.\n", subject="Gemensam rekrytering"),
        "auto-list-x-loop": mail("auto-list-x-loop", ["X-Loop: chefer@example.org", "Precedence: list"],
                                 "Tid: 10 min\n\nFörslag som gick via listan.\n", subject="Via listan"),
        "auto-plain-text-bounce": mail("auto-plain-text-bounce", [], "Hi. This is the qmail-send program.\n",
                                       subject="failure notice"),
        "auto-stranger-out-of-office": mail("auto-stranger-out-of-office", ["Auto-Submitted: auto-replied"], oof,
                                            sender="Per Persson <per@elsewhere.example>", subject="Automatiskt svar: Hej"),
    }
    subjects = {
        "auto-subject-ej-pa-kontoret": f"Ej på kontoret: {ack_subject}",
        "auto-subject-semester": f"Semester: {ack_subject}",
        "auto-subject-ledig": f"Ledig: {ack_subject}",
        "auto-subject-auto-ar-ledig": "AUTO: Maria Holm är ledig (åter 7 december)",
        "auto-subject-away-from-office": f"Away from office: {ack_subject}",
        "auto-subject-on-vacation": "On vacation until 7 December",
        "auto-subject-vacation-reply": f"Vacation reply: {ack_subject}",
        "auto-subject-sv-autosvar": f"SV: Autosvar: {ack_subject}",
        "auto-subject-aw-automatische-antwort": f"AW: Automatische Antwort: {ack_subject}",
        "auto-subject-re-out-of-office": f"Re: Out of Office: {ack_subject}",
    }
    for name, subject in subjects.items():
        out[name] = mail(name, reply, oof, subject=subject)
    return out


def reports() -> dict[str, bytes]:
    def report(name: str, kind: str, status: str, sender: str) -> bytes:
        head, body = multipart("rep", [
            "Content-Type: text/plain\n\nDitt meddelande.\n",
            f"Content-Type: message/{kind}\n\n{status}",
            f"Content-Type: text/rfc822-headers\n\nMessage-ID: {ACK}\nSubject: [KLG-2026-001] Mottaget\n",
        ], subtype=f"report; report-type={kind}")
        return mail(name, [*head, "Return-Path: <>"], body, sender=sender, subject="Undeliverable / Läst")
    return {
        "report-read-receipt": report("report-read-receipt", "disposition-notification",
                                      f"Reporting-UA: Outlook\nFinal-Recipient: rfc822; {MARIA}\n"
                                      f"Original-Message-ID: {ACK}\nDisposition: manual-action/MDN-sent-manually; displayed\n",
                                      f"Maria Holm <{MARIA}>"),
        "report-forged-dsn-stranger-recipient": report(
            "report-forged-dsn-stranger-recipient", "delivery-status",
            f"Reporting-MTA: dns; mx.attacker.example\n\nFinal-Recipient: rfc822; {EVIL}\nAction: failed\nStatus: 5.1.1\n",
            f"Mail Delivery System <{EVIL}>"),
        "report-forged-dsn-group-address": report(
            "report-forged-dsn-group-address", "delivery-status",
            f"Reporting-MTA: dns; mx.attacker.example\n\nFinal-Recipient: rfc822; {GROUP}\nAction: failed\nStatus: 5.1.1\n",
            "MAILER-DAEMON@attacker.example"),
    }


def parser() -> dict[str, bytes]:
    pdf = "Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
    out = {}
    head, body = multipart("apple", [TEXT, (f'{pdf}Content-Disposition: attachment; filename="Protokoll år 2026.pdf"\n\n'
                                            + b64(PDF)), 'Content-Type: text/plain\nContent-Disposition: attachment; '
                                            'filename="Bilaga två.txt"\n\nAndra bilagan.\n'])
    out["parser-apple-8bit-file-name"] = mail("parser-apple-8bit-file-name", head, body, subject="Protokoll")
    head, body = multipart("c2231", [TEXT, pdf + "Content-Disposition: attachment;\n filename*0*=UTF-8''%C3%85rsredovisning;"
                                     "\n filename*1*=%202026.pdf\n\n" + b64(PDF)])
    out["parser-rfc2231-continued-name"] = mail("parser-rfc2231-continued-name", head, body, subject="Årsredovisning")
    out["parser-stray-latin1-byte"] = mail("parser-stray-latin1-byte", ["MIME-Version: 1.0",
                                           "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"],
                                           "Tid: 10 min\n\nVi behöver åtgärder i äldreomsorgen.\n".encode() + b"Och \xf6vrigt.\r\n",
                                           subject="Äldreomsorgen")
    out["parser-broken-encoded-subject"] = mail("parser-broken-encoded-subject", [],
                                                subject="=?iso-8859-1?Q?Protokoll fr=E5n m=F6tet?=")
    head, body = multipart("alt", ["Content-Type: text/plain; charset=utf-8\n\n\n",
                                   "Content-Type: text/html; charset=utf-8\n\n<p>Tid: 20 min</p><p>Förslag om "
                                   "<b>lokaler</b>.</p>"], subtype="alternative")
    out["parser-html-when-plain-is-empty"] = mail("parser-html-when-plain-is-empty", head, body, subject="Lokaler")
    png = b64(b"\x89PNG\r\n\x1a\n" + bytes(range(64)))
    head, body = multipart("rel", ['Content-Type: text/html; charset=utf-8\n\n<p>Tid: 10 min</p><p>Bilden visar läget.</p>'
                                   '<img src="cid:logo@kommun">',
                                   f"Content-Type: image/png\nContent-ID: <logo@kommun>\nContent-Disposition: inline\n"
                                   f"Content-Transfer-Encoding: base64\n\n{png}",
                                   f"Content-Type: image/png\nContent-ID: <photo@kommun>\nContent-Disposition: inline\n"
                                   f"Content-Transfer-Encoding: base64\n\n{png}"], subtype="related")
    out["parser-inline-photo-not-shown"] = mail("parser-inline-photo-not-shown", head, body, subject="Läget i bilder")
    head, body = multipart("noname", [TEXT, "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
                                      + b64(PDF)])
    out["parser-unnamed-pdf"] = mail("parser-unnamed-pdf", head, body, subject="Utan filnamn")
    head, body = multipart("fwd", [TEXT, f"Content-Type: message/rfc822\n\nFrom: {CHAIR}\nSubject: =?utf-8?q?Del=C3=A5rs"
                                   "rapport_1/2026?=\nMessage-ID: <inner@example.org>\n\nRapporten.\n"])
    out["parser-forwarded-subject-with-slash"] = mail("parser-forwarded-subject-with-slash", head, body,
                                                      subject="VB: Delårsrapport 1/2026")
    head, body = multipart("bad", [TEXT, f'{pdf}Content-Disposition: attachment; filename="rapport.pdf"\n\n'
                                   "JVBERi0xLjQK!!!@@@ inte base64 ===\n", 'Content-Type: text/plain\nContent-Disposition: '
                                   'attachment; filename="efter.txt"\n\nDelen efter.\n'])
    out["parser-damaged-base64-part"] = mail("parser-damaged-base64-part", head, body, subject="Trasig bilaga")
    head, body = multipart("unk", [TEXT, 'Content-Type: application/pdf\nContent-Transfer-Encoding: x-base9000\n'
                                   'Content-Disposition: attachment; filename="gammal.pdf"\n\nQQQQ\n'])
    out["parser-unknown-transfer-encoding"] = mail("parser-unknown-transfer-encoding", head, body, subject="Okänd kodning")
    uu = "".join(binascii.b2a_uu(PDF[n:n + 45]).decode() for n in range(0, len(PDF), 45))
    head, body = multipart("uu", [TEXT, 'Content-Type: application/pdf\nContent-Transfer-Encoding: x-uuencode\n'
                                  f'Content-Disposition: attachment; filename="gammal.pdf"\n\nbegin 644 gammal.pdf\n{uu}`\nend\n'])
    out["parser-uuencoded-attachment"] = mail("parser-uuencoded-attachment", head, body, subject="Gammal klient")
    return out


def mutations(count: int = 12) -> dict[str, bytes]:
    rnd = random.Random(20261130)
    head, body = multipart("mut", [TEXT, f'Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n'
                                   f'Content-Disposition: attachment; filename="Underlag.pdf"\n\n{b64(PDF)}'])
    base = mail("mutation", head, body, subject="=?utf-8?q?Underlag_f=C3=B6r_beslut?=")
    out = {}
    for n in range(count):
        data = bytearray(base)
        for _ in range(rnd.randint(1, 12)):
            at = rnd.randrange(len(data))
            choice = rnd.random()
            if choice < 0.5:
                data[at] = rnd.randrange(256)
            elif choice < 0.75:
                data[at:at] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 8)))
            else:
                del data[at:at + rnd.randint(1, 8)]
        name = f"mutation-{n:02d}"
        out[name] = bytes(data).replace(b"<mutation@corpus.example>", f"<{name}@corpus.example>".encode())
    return out


def corpus() -> dict[str, bytes]:
    """Every file of the corpus, by name (without .eml)."""
    return {**halting(), **forged(), **auth(), **auto(), **reports(), **parser(), **mutations()}


if __name__ == "__main__":
    files = corpus()
    for old in HERE.glob("*.eml"):
        if old.stem not in files:
            old.unlink()
    for name, data in files.items():
        (HERE / f"{name}.eml").write_bytes(data)
    print(f"{len(files)} files in {HERE}")
