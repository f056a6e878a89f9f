"""Fields come only from the proposer's own text: a "Datum:", "Date:" or "Tid:" line in
a forwarded or quoted block below it, as each client writes that block, is text."""

from datetime import date

import pytest

from daemon import fields
from tests.helpers import MARIA, at, make_mail

TODAY = date(2026, 11, 18)

OWN = "Tid: 20\n\nVi behöver ta upp avtalet, se nedan.\n\n"
BLOCKS = {
    "outlook-sv": "Från: Anna Berg <anna.berg@region.se>\nSkickat: den 9 november 2026 14:02\n"
                  "Till: Maria Holm <maria.holm@example.org>\nÄmne: Avtal\n\nDatum: 2026-11-10\nTid: 45\n",
    "outlook-en": "________________________________\nFrom: Anna Berg <anna.berg@region.se>\nSent: Monday, 9 November "
                  "2026 14:02\nTo: Maria Holm\nSubject: Contract\n\nDate: 2026-11-10\nTime: 45\n",
    "outlook-sv-original": "-----Ursprungligt meddelande-----\nFrån: Anna Berg\nSkickat: den 9 november 2026 14:02\n"
                           "Till: Maria Holm\nÄmne: Avtal\n\nMöte: 2026-11-10\n",
    "gmail": "---------- Forwarded message ---------\nFrom: Anna Berg <anna.berg@region.se>\n"
             "Date: Mon, Nov 9, 2026 at 2:02 PM\nSubject: Avtal\nTo: <maria.holm@example.org>\n\nDatum: 2026-11-10\n",
    "gmail-sv": "---------- Vidarebefordrat meddelande ---------\nFrån: Anna Berg <anna.berg@region.se>\n"
                "Date: mån 9 nov. 2026 kl 14:02\nSubject: Avtal\nTo: <maria.holm@example.org>\n\nTid: 45\n",
    "apple-mail": "Begin forwarded message:\n\nFrom: Anna Berg <anna.berg@region.se>\nSubject: Avtal\n"
                  "Date: 9 November 2026 at 14:02:00 CET\nTo: Maria Holm <maria.holm@example.org>\n\nDatum: 2026-11-10\n",
    "apple-mail-sv": "Vidarebefordrat brev:\n\nFrån: Anna Berg <anna.berg@region.se>\nÄmne: Avtal\n"
                     "Datum: 9 november 2026 14:02:00 CET\nTill: Maria Holm <maria.holm@example.org>\n\nTid: 45\n",
    "thunderbird": "-------- Vidarebefordrat meddelande --------\nÄmne: \tAvtal\nDatum: \tMon, 9 Nov 2026 14:02:00 +0100\n"
                   "Från: \tAnna Berg <anna.berg@region.se>\nTill: \tMaria Holm <maria.holm@example.org>\n\n"
                   "Datum: 2026-11-10\n",
    "quoted-reply": "Den 9 nov. 2026 kl. 14:02 skrev Anna Berg <anna.berg@region.se>:\n\n> Datum: 2026-11-10\n> Tid: 45\n",
}


@pytest.mark.parametrize("client", sorted(BLOCKS))
def test_fields_below_the_own_text_are_not_read(client):
    parsed = fields.parse(OWN + BLOCKS[client], TODAY)
    assert parsed.values == {"minutes": 20}
    assert parsed.warnings == [] and parsed.unknown == []
    assert parsed.description.startswith("Vi behöver ta upp avtalet, se nedan.")
    assert "2026-11-10" in parsed.description or "45" in parsed.description  # the forwarded text is kept


def test_a_forward_with_no_own_text_has_no_fields():
    parsed = fields.parse(BLOCKS["gmail"], TODAY)
    assert parsed.values == {}
    assert "Datum: 2026-11-10" in parsed.description


def test_own_field_lines_that_look_like_headers_are_still_fields():
    """"Datum:" above "Till:" with no sender and no address is the member's own opening block."""
    parsed = fields.parse("Datum: 2026-12-08\nTill: alla förvaltningschefer\n\nText.", TODAY)
    assert parsed.values == {"meeting": date(2026, 12, 8)}


def test_an_on_time_proposal_with_a_forwarded_date_is_not_late(inst):
    """The whole way: a proposal on Wednesday with a forwarded "Datum: 2026-11-10" below
    the proposer's text is planned for the next meeting, not marked late."""
    inst.drop(make_mail(MARIA, "Fwd: Avtal om hemtjänst", OWN + BLOCKS["gmail"]))
    inst.tick(at("2026-11-18 09:00"))
    store = inst.store()
    try:
        item = store.one("SELECT meeting, late, minutes, description FROM items")
    finally:
        store.close()
    assert item["meeting"] == "2026-11-24" and item["late"] == 0 and item["minutes"] == 20
    assert "Datum: 2026-11-10" in item["description"]
    ack = [m for m in inst.sent() if "Mottaget" in str(m["Subject"])]
    assert len(ack) == 1
    text = " ".join(ack[0].get_body(preferencelist=("plain",)).get_content().split())
    assert "tisdag 24 november" in text and "efter sista dag" not in text
