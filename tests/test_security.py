"""The security policy as members, the chancellery and an administrator meet it:
forged senders, mail storms, size limits, hostile file names, file modes and
secrets."""

from __future__ import annotations

import logging
import os
import random
import stat
import subprocess
import sys

import pytest

from daemon import cli, commands
from daemon.files import safe_name, safe_path
from daemon.mail import MailError
from daemon.store import Store
from tests.helpers import CHANCELLERY, MARIA, REPO, at, body, make_mail, new_instance

AUTH = """require_authentication = true
authserv_id = "mx.example.org"
trusted_headers = ["X-MS-Exchange-Organization-AuthAs: Internal"]"""


@pytest.fixture
def guarded(inst):
    """An instance that only trusts what mx.example.org vouches for."""
    inst.edit_config("require_authentication = false", AUTH)
    return inst


def prepend(header: str, raw: bytes) -> bytes:
    """A header our receiving server added on top of the mail."""
    return header.encode() + b"\r\n" + raw


def items(inst, now="2026-11-20 09:00"):
    return [i for m in inst.status(at(now))["meetings"] for i in m["items"]]


# --- sender authentication ----------------------------------------------------

ACCEPTED = {
    "dmarc pass": ["Authentication-Results: mx.example.org; dmarc=pass (p=reject) header.from=example.org"],
    "aligned dkim": ["Authentication-Results: mx.example.org; dkim=pass header.d=example.org header.s=s1; spf=fail"],
    "aligned spf": ["Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=bounces.example.org"],
    "internal": ["X-MS-Exchange-Organization-AuthAs: Internal"],
    # RFC 8601: the authserv-id is a token or quoted string, after comments, with a version, in any case
    "quoted authserv-id with comments and a version": ['Authentication-Results: (checked) "mx.example.org" 1 (v1); '
                                                       "dkim=pass header.d=example.org header.s=s1"],
    "authserv-id in capitals": ["Authentication-Results: MX.Example.ORG; dmarc=pass header.from=example.org"],
    "folded over lines": ["Authentication-Results: mx.example.org;\r\n\tdkim=pass header.d=example.org;\r\n"
                          "\tdmarc=pass header.from=example.org"],
}
REFUSED = {
    "no header": [],
    "dmarc fail": ["Authentication-Results: mx.example.org; dmarc=fail header.from=example.org"],
    "another server": ["Authentication-Results: mx.evil.example.net; dmarc=pass header.from=example.org"],
    "dkim of another domain": ["Authentication-Results: mx.example.org; dkim=pass header.d=mailer.example.net"],
    "dkim of a top-level domain": ["Authentication-Results: mx.example.org; dkim=pass header.d=org"],
    "dmarc for another domain": ["Authentication-Results: mx.example.org; dmarc=pass header.from=example.net"],
    "forged pass below ours": ["Authentication-Results: mx.example.org; dmarc=fail header.from=example.org",
                               "Authentication-Results: mx.example.org; dmarc=pass header.from=example.org"],
    "external by exchange": ["X-MS-Exchange-Organization-AuthAs: Anonymous"],
    "garbage": ["Authentication-Results: ;;; dmarc=pass"],
    # the attacks of issue 11: each must fail whatever else the mail carries
    "forged pass above ours": ["Authentication-Results: mx.example.org; dmarc=pass header.from=example.org",
                               "Authentication-Results: mx.example.org; dmarc=fail header.from=example.org"],
    "unparseable one of ours, then a forged pass": ["Authentication-Results: mx.example.org; ;; dmarc = = pass ((",
                                                    "Authentication-Results: mx.example.org; dmarc=pass header.from=example.org"],
    "ours in capitals fails, forged pass below": ["Authentication-Results: MX.EXAMPLE.ORG; dmarc=fail header.from=example.org",
                                                  "Authentication-Results: mx.example.org; dmarc=pass header.from=example.org"],
    "ours with a version fails, forged pass below": ["Authentication-Results: mx.example.org 1; dmarc=fail header.from=example.org",
                                                     "Authentication-Results: mx.example.org; dmarc=pass header.from=example.org"],
    "authserv-id as an encoded word": ["Authentication-Results: =?utf-8?q?mx.example.org?=; dmarc=pass header.from=example.org"],
    "our id inside another server's comment": ["Authentication-Results: evil.example (mx.example.org; dmarc=pass "
                                               "header.from=example.org); none"],
    "dmarc pass naming no domain": ["Authentication-Results: mx.example.org; dmarc=pass"],
    "trusted header as an encoded word": ["X-MS-Exchange-Organization-AuthAs: =?utf-8?q?Internal?="],
    "trusted header twice, disagreeing": ["X-MS-Exchange-Organization-AuthAs: Anonymous",
                                          "X-MS-Exchange-Organization-AuthAs: Internal"],
}


@pytest.mark.parametrize("headers", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_authenticated_proposal_is_accepted(guarded, headers):
    raw = make_mail(MARIA, "Budgetuppföljning", "Tid: 15")
    for h in reversed(headers):
        raw = prepend(h, raw)
    guarded.drop(raw)
    guarded.tick(at("2026-11-20 09:00"))
    [ack] = guarded.sent()
    assert ack["Subject"] == "[KLG-2026-001] Mottaget: Budgetuppföljning"
    assert [i["id"] for i in items(guarded)] == ["KLG-2026-001"]


@pytest.mark.parametrize("headers", REFUSED.values(), ids=REFUSED.keys())
def test_unauthenticated_proposal_is_quarantined_unanswered(guarded, headers):
    raw = make_mail(MARIA, "Budgetuppföljning", "Tid: 15")
    for h in reversed(headers):
        raw = prepend(h, raw)
    guarded.drop(raw)
    guarded.tick(at("2026-11-20 09:00"))
    assert guarded.sent() == []
    assert items(guarded) == []
    assert len(guarded.folder("quarantine")) == 1
    assert guarded.status(at("2026-11-20 09:00"))["quarantine"]["count"] == 1


def test_dmarc_pass_for_the_attackers_domain_with_the_members_address_as_name(guarded):
    """The attacker's own domain passes DMARC; the From shows the member's address as
    its display name. The one real address is the attacker's, and the From is refused."""
    raw = make_mail("evil@attacker.example", "Budgetuppföljning", "Tid: 15").replace(b"Someone", MARIA.encode())
    guarded.drop(prepend("Authentication-Results: mx.example.org; dmarc=pass header.from=attacker.example", raw))
    guarded.tick(at("2026-11-20 09:00"))
    assert guarded.sent() == [] and items(guarded) == []
    store = guarded.store()
    try:
        assert store.one("SELECT classification FROM messages_in")["classification"] == "ambiguous-sender"
    finally:
        store.close()


def test_chancellery_is_told_about_spoofed_mail_in_the_daily_digest(guarded):
    guarded.drop(make_mail(MARIA, "Lönerevision", "Tid: 5"))
    guarded.tick(at("2026-11-20 09:00"))
    guarded.tick(at("2026-11-20 16:00"))
    [digest] = guarded.sent()
    assert [a.addr_spec for a in digest["To"].addresses] == [CHANCELLERY]
    assert "Avsändaren kunde inte bekräftas (möjlig förfalskning)" in body(digest)
    assert MARIA in body(digest) and "Lönerevision" in body(digest)


def test_forged_withdrawal_leaves_the_item_alone(guarded):
    proof = "Authentication-Results: mx.example.org; dmarc=pass header.from=example.org"
    guarded.drop(prepend(proof, make_mail(MARIA, "Budgetuppföljning", "Tid: 15")))
    guarded.tick(at("2026-11-20 09:00"))
    [ack] = guarded.sent()
    guarded.drop(make_mail(MARIA, "Re: " + ack["Subject"], "ÅTERKALLA", reply_to=ack))
    guarded.tick(at("2026-11-20 09:10"))
    assert [i["state"] for i in items(guarded, "2026-11-20 09:10")] == ["planned"]
    assert len(guarded.sent()) == 1


def test_authentication_is_off_unless_configured(inst):
    inst.drop(make_mail(MARIA, "Budgetuppföljning", "Tid: 15"))
    inst.tick(at("2026-11-20 09:00"))
    assert len(inst.sent()) == 1


@pytest.mark.parametrize("old, new, key", [
    ("require_authentication = false", "require_authentication = true", "security.authserv_id is missing"),
    ("require_authentication = false", 'require_authentication = true\nauthserv_id = "mx example"',
     "security.authserv_id = 'mx example'"),
    ("require_authentication = false", 'trusted_headers = ["Internal"]', "security.trusted_headers = 'Internal'"),
    ("replies_per_sender_per_hour = 30", "replies_per_sender_per_hour = 0", "security.replies_per_sender_per_hour = 0"),
    ("require_authentication = false", 'require_authentication = "yes"', "security.require_authentication = 'yes'"),
    ("require_authentication = false", "require_auth = true", "security.require_auth is not a known key; did you mean require_authentication?"),
])
def test_bad_security_config_names_the_key_and_exits_2(inst, old, new, key):
    inst.edit_config(old, new)
    result = inst.klg("check-config")
    assert result.returncode == 2
    assert key in result.stderr


# --- storm guard ------------------------------------------------------------


def test_member_gets_at_most_the_configured_answers_per_hour(inst):
    inst.edit_config("replies_per_sender_per_hour = 30", "replies_per_sender_per_hour = 3")
    for n in range(5):
        inst.drop(make_mail(MARIA, f"Förslag {n}", "Tid: 5"))
    inst.tick(at("2026-11-20 09:00"))
    assert len(inst.sent_to(MARIA)) == 3
    assert [i["title"] for i in items(inst)] == ["Förslag 0", "Förslag 1", "Förslag 2"]
    assert len(inst.folder("quarantine")) == 2
    # the chancellery hears of the held-back mail; an hour later Maria is answered again
    inst.tick(at("2026-11-20 16:00"))
    [digest] = inst.sent_to(CHANCELLERY)
    assert body(digest).count("skydd mot mejlstormar") == 2
    inst.drop(make_mail(MARIA, "Förslag 5", "Tid: 5"))
    inst.tick(at("2026-11-20 16:01"))
    assert len(inst.sent_to(MARIA)) == 4


def test_mail_loop_with_a_member_stops_at_the_limit(inst):
    """Maria's mailbox forwards everything back to the group (no Auto-Submitted
    header): each answer would cause the next. klg stops answering."""
    inst.drop(make_mail(MARIA, "Budget", "Tid: 5"))
    answered = set()
    for minute in range(0, 60, 2):
        inst.tick(at(f"2026-11-20 09:{minute:02d}"))
        for mail in inst.sent_to(MARIA):
            if mail["Message-ID"] not in answered:
                answered.add(mail["Message-ID"])
                inst.drop(make_mail(MARIA, "VB: " + mail["Subject"], body(mail)))
    assert len(inst.sent_to(MARIA)) == 30  # the default limit, not one per pass of the loop
    assert len(inst.sent()) == 30


def test_explanations_have_their_own_lower_limit(inst):
    inst.edit_config("explanations_per_sender_per_hour = 3", "explanations_per_sender_per_hour = 2")
    for _ in range(4):
        inst.drop(make_mail(MARIA, "", "Ingen rubrik"))
    inst.tick(at("2026-11-20 09:00"))
    explanations = inst.sent_to(MARIA)
    assert len(explanations) == 2
    assert all(m["Subject"].startswith("Vi kunde inte behandla") for m in explanations)
    assert len(inst.folder("quarantine")) == 4


# --- size and count limits ----------------------------------------------------

MB = 1024 * 1024


def test_attachments_beyond_the_count_limit_are_not_kept_and_the_sender_is_told(inst):
    inst.edit_config("max_attachments = 20", "max_attachments = 2")
    docs = [(f"bilaga{n}.pdf", b"%PDF-1.4 " + bytes([65 + n]) * 100, "application/pdf") for n in range(3)]
    inst.drop(make_mail(MARIA, "Tre bilagor", "Tid: 5", attachments=docs))
    inst.tick(at("2026-11-20 09:00"))
    [ack] = inst.sent()
    assert "fler än 2 bilagor; bilaga2.pdf sparades inte" in body(ack)
    assert [i["attachments"] for i in items(inst)] == [["bilaga0.pdf", "bilaga1.pdf"]]


def test_attachment_over_the_size_limit_is_not_kept(inst):
    inst.edit_config("max_attachment_mb = 25", "max_attachment_mb = 1")
    inst.drop(make_mail(MARIA, "Stor bilaga", "Tid: 5", attachments=[
        ("stor.pdf", b"%PDF" + b"x" * (MB + 10), "application/pdf"),
        ("liten.pdf", b"%PDF" + b"y" * 100, "application/pdf")]))
    inst.tick(at("2026-11-20 09:00"))
    [ack] = inst.sent()
    assert "stor.pdf är större än 1 MB och sparades inte" in body(ack)
    assert [i["attachments"] for i in items(inst)] == [["liten.pdf"]]


def test_mail_over_the_size_limit_is_quarantined_with_one_explanation(inst):
    inst.edit_config("max_message_mb = 50", "max_message_mb = 1")
    inst.drop(make_mail(MARIA, "Jättestort", "Tid: 5", attachments=[("a.pdf", b"%PDF" + b"z" * MB, "application/pdf")]))
    inst.tick(at("2026-11-20 09:00"))
    [answer] = inst.sent()
    assert "större än 1 MB och togs inte emot" in body(answer)
    assert items(inst) == []
    assert len(inst.folder("quarantine")) == 1


# --- names from mail never become paths outside the data folder ----------------

HOSTILE = ["../../etc/passwd", "..\\..\\windows\\system32\\cmd.exe", "C:\\Windows\\win.ini", "/etc/shadow", "..", ".",
           "", "   ", "NUL", "nul.txt", "CON.tar.gz", "a\x00b.pdf", "\u202egpj.exe", "..／..／etc／passwd",
           "..\u2215..\u2215x", "x" * 1000 + ".pdf", "漢" * 300 + ".docx", "ok/../../../x.docx", "\n\r.pdf",
           ".bashrc", "~root/.ssh/authorized_keys", "%2e%2e%2fetc%2fpasswd", "file:///etc/passwd"]


def _fuzz_names(count: int = 3000) -> list[str]:
    rnd = random.Random(20261123)
    alphabet = "./\\:\x00\n ~$%*?<>|\"'ÅÄÖåäö漢ж\u202e\u200b\uff0f\u2215\u2044\ufe52" + "abcXYZ019-_"
    return [("".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 300)))) for _ in range(count)]


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_names_become_plain_names_inside_the_folder(tmp_path, name):
    clean = safe_name(name)
    assert clean and clean not in (".", "..") and not clean.startswith(".")
    assert "/" not in clean and "\\" not in clean and "\x00" not in clean
    assert len(clean) <= 120 and len(clean.encode()) <= 200
    path = safe_path(tmp_path, name)
    assert path.parent == tmp_path.resolve()
    path.write_bytes(b"x")  # the file system accepts it
    assert path.exists()


@pytest.mark.parametrize("name", ["Budget 2027 – förslag.docx", "Ärende — bilaga 2 (ny).pdf", "Översyn & plan, del 1+2.xlsx"])
def test_ordinary_swedish_document_names_are_kept(name):
    assert safe_name(name) == name


def test_random_names_never_leave_the_folder(tmp_path):
    for name in _fuzz_names():
        path = safe_path(tmp_path, name)
        assert path.parent == tmp_path.resolve(), name


def test_hostile_attachment_names_are_kept_inside_the_data_folder(tmp_path):
    inst = new_instance(tmp_path / "deep" / "klg")
    docs = [(name, f"innehåll {n}".encode(), "application/pdf") for n, name in enumerate(HOSTILE[:8])]
    inst.drop(make_mail(MARIA, "Farliga namn", "Tid: 5", attachments=docs))
    before = {p for p in tmp_path.rglob("*")}
    inst.tick(at("2026-11-20 09:00"))
    created = {p for p in tmp_path.rglob("*")} - before
    instance = (tmp_path / "deep" / "klg").resolve()
    assert created and all(p.resolve().is_relative_to(instance) for p in created)
    names = [n for i in items(inst) for n in i["attachments"]]
    assert len(names) == 8 and all("/" not in n and "\\" not in n and not n.startswith(".") for n in names)


# --- files on disk are for the service user only ---------------------------------


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_everything_klg_writes_is_owner_only(tmp_path, umask_022):
    def klg(*args):
        return subprocess.run([sys.executable, "-m", "daemon", *args], cwd=REPO, capture_output=True, text=True,
                              timeout=120)

    home = tmp_path / "instance"
    assert klg("init", str(home)).returncode == 0
    (home / "mailboxes" / "inbox" / "new" / "1.eml").write_bytes(make_mail(MARIA, "Budget", "Tid: 5", attachments=[
        ("underlag.pdf", b"%PDF-1.4 underlag", "application/pdf")]))
    result = klg("--config", str(home / "klg.toml"), "tick", "--now", "2026-11-20T09:00")
    assert result.returncode == 0, result.stderr
    # the delivered mail keeps the mode its deliverer gave it; the folders around it do not let anyone in
    written = [p for p in home.rglob("*") if not p.name.startswith("1.eml") and "templates" not in p.parts]
    assert any(p.name == "klg.sqlite" for p in written) and any("files" in p.parts and p.is_file() for p in written)
    assert any("sent" in p.parts and p.is_file() for p in written)
    loose = [f"{p} {stat.filemode(p.stat().st_mode)}" for p in written if p.stat().st_mode & 0o077]
    assert loose == []


def test_database_journal_files_are_owner_only(tmp_path, umask_022):
    store = Store(tmp_path / "data")
    try:
        with store.atomic():
            store.event(at("2026-11-20 09:00"), "test")
        for name in ("klg.sqlite", "klg.sqlite-wal", "klg.sqlite-shm"):
            mode = (tmp_path / "data" / name).stat().st_mode
            assert mode & 0o077 == 0, f"{name} is {stat.filemode(mode)}"
    finally:
        store.close()


# --- secrets ----------------------------------------------------------------

SECRET = "Hemligt-L0senord-4711"


def test_inline_secret_in_the_config_is_refused_without_being_shown(inst):
    inst.edit_config('[transport]\nbackend = "maildir"', f'[transport]\nbackend = "maildir"\npassword = "{SECRET}"')
    result = inst.klg("check-config")
    assert result.returncode == 2
    assert "transport.password = '***'" in result.stderr and "password_env" in result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_a_secret_never_reaches_the_log_or_an_error_message(inst, monkeypatch, capfd):
    """A mail library that echoes the password in its error (some do) is masked."""
    from daemon.config import read_secret

    monkeypatch.setenv("KLG_TEST_PASSWORD", SECRET)
    old_umask = os.umask(0o022)

    def leaky_mailbox(config):
        password = read_secret({"password_env": "KLG_TEST_PASSWORD"}, "password")
        logging.getLogger("klg.mail").warning("logging in as klg with password %s", password)
        raise MailError(f"LOGIN failed: AUTHENTICATE klg {password} rejected")

    monkeypatch.setattr(commands, "open_mailbox", leaky_mailbox)  # where check-config's handler lives
    try:
        code = cli.main(["--config", str(inst.config_path), "check-config"])
    finally:
        os.umask(old_umask)
        logging.getLogger().handlers[:] = []
    out = capfd.readouterr()
    assert code == 1
    assert "klg: mail: LOGIN failed: AUTHENTICATE klg *** rejected" in out.err
    assert "logging in as klg with password ***" in out.err
    assert SECRET not in out.err + out.out
