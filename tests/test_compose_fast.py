"""The plain mail written without EmailMessage (issue 19) is byte for byte the mail
EmailMessage writes: every combination of names, addresses, subjects, threading and
bodies klg sends, and the acknowledgements of a real intake."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy

import pytest

from daemon.mail import compose
from daemon.mail.compose import build
from daemon.mail.outgoing import Outgoing
from tests.helpers import ERIK, MARIA, at, make_mail

NAMES = ["KLG", "Kommunledningsgruppen (KLG)", "Kommunledningsgruppen, Åre kommun", 'Grupp "KLG"', "",
         "Ledningsgruppen för socialtjänst och omsorg i Norra Kommunalförbundet"]
TOS = [["maria.holm@example.org"], ["maria.holm@example.org", "erik@example.org"],
       ["a@example.org", "b@example.org", "c@example.org", "d@example.org", "e@example.org", "f@example.org"]]
SUBJECTS = ["Mottaget: Budget", "Mottaget: Förslag 12 [KLG-2026-012]", "",
            "Received: a rather long subject line that goes on and on past the width of one line of mail",
            "Mottaget: Riktlinjer för tjänsteresor och förtjänsteresor inom förvaltningen, remissversion",
            "Tab\tand  spaces"]
BODIES = ["Hej,\n\nTack.\n", "Hej Maria,\n\nTack för förslaget, det har nummer KLG-2026-012.\n\n-- \nKLG\n",
          "", "no newline at the end", "x" * 78 + "\n", "x" * 79 + "\n", "å" * 39 + "\n", "å" * 40 + "\n",
          "line\r\nwith\rmixed\nends\n", "Ärende: " + "ö" * 200, "\n".join(f"rad {n} med å" for n in range(30))]
THREADS = [(None, []), ("abc@example.org", []), ("abc@example.org", ["r1@x.example", "abc@example.org"]),
           ("m@example.org", [f"ref{n}.{'x' * 20}@example.org" for n in range(15)])]
DATES = [datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc), datetime(2026, 1, 5, 23, 59, 59, tzinfo=timezone.utc),
         datetime(2026, 7, 1, 8, 30, tzinfo=timezone(timedelta(hours=2)))]


def both(out: Outgoing, name: str, date: datetime, message_id: str = "klg.0123456789abcdef@example.org"):
    kwargs = dict(sender="klg@example.org", sender_name=name, message_id=message_id, date=date)
    return build(out, **kwargs), compose._build(out, **kwargs)


def corpus():
    """Every name × subject × body, and every name × recipients × thread (the full product is slow)."""
    for name, subject, body in itertools.product(NAMES, SUBJECTS, BODIES):
        yield name, TOS[0], subject, body, THREADS[1]
    for name, to, (reply, refs), date in itertools.product(NAMES, TOS, THREADS, DATES):
        yield name, to, SUBJECTS[1], BODIES[1], (reply, refs)


def test_the_fast_mail_is_the_email_packages_mail_byte_for_byte():
    fast_ones = total = 0
    for n, (name, to, subject, body, (reply, refs)) in enumerate(corpus()):
        out = Outgoing(to=to, subject=subject, body=body, cc=to[1:2], in_reply_to=reply, references=refs)
        new, old = both(out, name, DATES[n % len(DATES)])
        assert new == old, (name, to, subject, body, reply)
        total += 1
        fast_ones += compose._plain(out, "klg@example.org", name, "klg.x@example.org", DATES[0]) is not None
    assert fast_ones > total // 2  # most went the fast way: the comparison is not of the slow way with itself


@pytest.mark.parametrize("headers", [{"X-KLG-Item": "KLG-2026-012"}, {"Reply-To": "kansliet@example.org"},
                                     {"X-Long": "y" * 90}, {"X-Empty": ""}])
def test_extra_headers_are_written_as_before(headers):
    out = Outgoing(to=[MARIA], subject="Mottaget", body="Tack.\n", extra_headers=headers)
    new, old = both(out, "KLG", DATES[0])
    assert new == old
    assert message_from_bytes(new, policy=policy.default)[next(iter(headers))] is not None


def test_an_acknowledgement_of_intake_is_byte_for_byte_as_before(inst, monkeypatch):
    """The acknowledgements a real intake queues, against the same mail built by EmailMessage."""
    built: list[tuple[bytes, bytes]] = []
    real = compose.build

    def compare(out, **kwargs):
        raw = real(out, **kwargs)
        built.append((raw, compose._build(out, **kwargs)))
        return raw

    monkeypatch.setattr("daemon.outbox.build", compare)
    inst.drop(make_mail(MARIA, "Budgetuppföljning för andra tertialet", "Tid: 15 min\n\nBeskrivning."))
    inst.drop(make_mail(ERIK, "Placeringar", "Typ: information"))
    inst.tick(at("2026-11-20 10:00"))
    assert len(built) >= 2
    assert all(new == old for new, old in built)
    subjects = [message_from_bytes(new, policy=policy.default)["Subject"] for new, _ in built]
    assert any("Budgetuppföljning" in s for s in subjects)
