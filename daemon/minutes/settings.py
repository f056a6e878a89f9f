"""``[minutes]``: the minutes workflow's own keys, validated here.

    [minutes]
    secretaries = "all"              # or ["Johan Ek", "Maria Holm"]; see daemon.secretary
    form_delay_minutes = 0           # the form goes to the secretary this long after schedule.end
    return_reminder_hours = 48       # remind the secretary once if the form is not back; 0 = never
    reminder_hours = 24              # remind signatories once per version; 0 = never
    file_name = "Minnesanteckningar {short} {date}.pdf"   # the signed PDF's stable name
    seal_pkcs12 = "/etc/klg/seal.p12"        # optional: seal the signed PDF (PAdES)
    seal_password_env = "KLG_SEAL_PASSWORD"  # or seal_password_credential = "seal-password"
    seal_trust = ["/etc/klg/ca.pem"]         # trust anchors for `klg verify` (default: the seal's own chain)
    seal_tsa_url = "https://tsa.example.se/tsa"   # optional: an RFC 3161 time-stamp makes the seal PAdES B-T
    seal_tsa_timeout = 10                    # seconds to wait for the time-stamp service
    seal_tsa_trust = ["/etc/klg/tsa-ca.pem"] # the time-stamp service's CA (for B-LT and `klg verify`)
    seal_revocation_files = ["/etc/klg/ca.crl"]  # CRLs / OCSP responses to embed (B-LT)
    seal_revocation_fetch = false            # fetch CRLs/OCSP from the certificates' URLs (B-LT)

    [[minutes.audiences]]
    name = "council"                 # members | council | union | intranet | any other name
    label = "KSAU"                   # how mails and status name it
    addresses = ["ksau@kommun.se"]   # a mail audience ("members" without addresses = every member)
    folder = "/srv/intranet/klg"     # or a folder audience (the PDF is copied there; "intranet" defaults to <data>/intranet)
    omit_not_communicated = true     # leave out rows marked "Kommuniceras: Nej"

Without ``[[minutes.audiences]]`` the defaults are: members (full minutes),
council and union (addresses to fill in; skipped and reported until then; the
union group's version leaves out rows not to be communicated) and intranet
(``<data>/intranet``, rows not to be communicated left out).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from daemon.config import EMAIL_RE, Config
from daemon.config_reader import ConfigReader, validated

DEFAULT_FILE_NAME = {"sv": "Minnesanteckningar {short} {date}.pdf", "en": "Minutes {short} {date}.pdf"}
LABELS = {
    "sv": {"members": "Gruppens medlemmar", "council": "KSAU", "union": "Cesam", "intranet": "Intranätet"},
    "en": {"members": "The group's members", "council": "The council (KSAU)", "union": "The union group (Cesam)",
           "intranet": "The intranet"},
}
KNOWN = {"secretaries", "form_delay_minutes", "return_reminder_hours", "reminder_hours", "file_name", "seal_pkcs12",
         "seal_password_env", "seal_password_credential", "seal_trust", "seal_reason", "audiences",
         "seal_tsa_url", "seal_tsa_timeout", "seal_tsa_trust", "seal_revocation_files", "seal_revocation_fetch"}
AUDIENCE_KEYS = {"name", "label", "addresses", "folder", "omit_not_communicated"}


@dataclass(frozen=True, eq=False)  # compared by nothing: no __eq__/__hash__ to generate at start-up (issue 19)
class Audience:
    """One of ``[minutes] audiences``: who gets the signed minutes, and which version."""

    name: str
    label: str
    addresses: tuple[str, ...] | None  # None: every member (the "members" audience)
    folder: Path | None
    omit_not_communicated: bool

    @property
    def channel(self) -> str:
        return "folder" if self.folder is not None else "mail"


@dataclass(frozen=True, eq=False)  # compared by nothing: no __eq__/__hash__ to generate at start-up (issue 19)
class MinutesSettings:
    """``[minutes]``, validated: the form's timing, the reminders, the seal and the audiences."""

    form_delay_minutes: int
    return_reminder_hours: float
    reminder_hours: float
    file_name: str
    seal_pkcs12: Path | None
    seal_password: dict  # the *_env / *_credential keys, for config.read_secret
    seal_trust: tuple[Path, ...]
    seal_reason: str
    audiences: tuple[Audience, ...]
    seal_tsa_url: str | None = None
    seal_tsa_timeout: float = 10.0
    seal_tsa_trust: tuple[Path, ...] = ()
    seal_revocation_files: tuple[Path, ...] = ()
    seal_revocation_fetch: bool = False

    @property
    def long_term(self) -> bool:
        """Revocation information is to be embedded (PAdES B-LT): a time-stamp and a source of it."""
        return self.seal_tsa_url is not None and (bool(self.seal_revocation_files) or self.seal_revocation_fetch)

    def pdf_name(self, short: str, meeting: str) -> str:
        return self.file_name.format(short=short, date=meeting)


def check_config(config: Config) -> list[str]:
    """Every problem with ``[minutes]`` (besides ``secretaries``), each naming the key, the value and the fix."""
    return _parse(config)[1]


def settings(config: Config) -> MinutesSettings:
    """The validated ``[minutes]`` settings; ConfigError when a key is wrong."""
    return validated(config.path, _parse(config))


def _number(r: ConfigReader, raw: dict, key: str, default: float, fix: str) -> float:
    value = r.get(raw, key, "minutes", (int, float), default, fix)
    if value < 0:
        r.bad(f"minutes.{key}", value, fix)
        return default
    return float(value)


def _parse(config: Config) -> tuple[MinutesSettings, list[str]]:
    r = ConfigReader()
    base = config.path.parent
    lang = config.group.language
    raw = r.table(config.raw, "minutes", "", KNOWN | {"seal_password"})
    if "seal_password" in raw:
        r.problems.append('minutes.seal_password = "***": secrets never go in the file: set seal_password_env = '
                          '"VARIABLE" or seal_password_credential = "name" (systemd LoadCredential=)')

    delay = _number(r, raw, "form_delay_minutes", 0, "expected whole minutes after the meeting's end, e.g. 0")
    return_hours = _number(r, raw, "return_reminder_hours", 48, "expected hours, e.g. 48, or 0 for no reminder")
    hours = _number(r, raw, "reminder_hours", 24, "expected hours, e.g. 24, or 0 for no reminder")

    file_name = raw.get("file_name", DEFAULT_FILE_NAME[lang])
    if not isinstance(file_name, str) or not file_name.endswith(".pdf") or "/" in file_name or "\\" in file_name:
        r.bad("minutes.file_name", file_name, "expected a file name ending in .pdf, without folders, "
                                              'e.g. "Minnesanteckningar {short} {date}.pdf"')
        file_name = DEFAULT_FILE_NAME[lang]
    else:
        try:
            file_name.format(short="KLG", date="2026-12-01")
        except (KeyError, IndexError, ValueError):
            r.bad("minutes.file_name", file_name, "only {short} and {date} may stand in braces")
            file_name = DEFAULT_FILE_NAME[lang]

    pkcs12 = raw.get("seal_pkcs12")
    seal_path: Path | None = None
    secret_keys = {k: raw[k] for k in ("seal_password_env", "seal_password_credential") if k in raw}
    if pkcs12 is not None:
        if not isinstance(pkcs12, str) or not pkcs12.strip():
            r.bad("minutes.seal_pkcs12", pkcs12, "expected the path of a PKCS#12 file (.p12/.pfx)")
        else:
            seal_path = (base / pkcs12).resolve()
            if not seal_path.exists():
                r.bad("minutes.seal_pkcs12", pkcs12, f"no such file ({seal_path}); give the path of the "
                                                     "seal's PKCS#12 file, or remove the key to distribute unsealed PDF/A")
        if not secret_keys:
            r.missing("minutes.seal_password_env", "name the environment variable holding the PKCS#12 "
                      'password (seal_password_env = "KLG_SEAL_PASSWORD") or a systemd credential '
                      '(seal_password_credential = "seal-password")')
    elif secret_keys:
        r.missing("minutes.seal_pkcs12", "a seal password is configured but no PKCS#12 file; add "
                  "seal_pkcs12 = \"path\" or remove the password key")
    trust = _files(r, raw, base, "seal_trust", "a CA certificate (PEM or DER) that `klg verify` should trust")
    tsa_url, tsa_timeout, tsa_trust, revocation, fetch = _timestamp(r, raw, base, pkcs12 is not None)
    reason = r.get(raw, "seal_reason", "minutes", str,
                   "Justerade minnesanteckningar" if lang == "sv" else "Signed minutes", "expected a short text")

    audiences = _audiences(config, raw.get("audiences"), r)
    return MinutesSettings(
        form_delay_minutes=int(delay), return_reminder_hours=return_hours, reminder_hours=hours, file_name=file_name,
        seal_pkcs12=seal_path, seal_password=secret_keys, seal_trust=tuple(trust), seal_reason=reason,
        audiences=audiences, seal_tsa_url=tsa_url, seal_tsa_timeout=tsa_timeout, seal_tsa_trust=tsa_trust,
        seal_revocation_files=revocation, seal_revocation_fetch=fetch,
    ), r.problems


def _files(r: ConfigReader, raw: dict, base: Path, key: str, what: str) -> tuple[Path, ...]:
    """A list of existing files (one string is a list of one), each resolved against the config's folder."""
    value = raw.get(key, [])
    if isinstance(value, str):
        value = [value]
    out: list[Path] = []
    if not isinstance(value, list):
        r.bad(f"minutes.{key}", value, f"expected a list of files, each {what}")
        return ()
    for i, t in enumerate(value):
        path = (base / t).resolve() if isinstance(t, str) else None
        if path is None or not path.is_file():
            r.bad(f"minutes.{key}[{i}]", t, f"not a file; give the path of {what}")
        else:
            out.append(path)
    return tuple(out)


def _timestamp(r: ConfigReader, raw: dict, base: Path, sealed: bool):
    """The time-stamp and revocation keys (PAdES B-T and B-LT); see the module's doc."""
    url = raw.get("seal_tsa_url")
    if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
        r.bad("minutes.seal_tsa_url", url, "expected the http or https URL of an RFC 3161 time-stamp service, "
                                           'e.g. "https://tsa.example.se/tsa"')
        url = None
    if url is not None and not sealed:
        r.missing("minutes.seal_pkcs12", "seal_tsa_url time-stamps the seal, but there is no seal; add "
                  "seal_pkcs12 or remove seal_tsa_url")
    timeout = _number(r, raw, "seal_tsa_timeout", 10, "expected seconds, e.g. 10")
    if timeout == 0:
        r.bad("minutes.seal_tsa_timeout", 0, "expected seconds greater than 0, e.g. 10")
        timeout = 10.0
    tsa_trust = _files(r, raw, base, "seal_tsa_trust", "the time-stamp service's CA certificate (PEM or DER)")
    revocation = _files(r, raw, base, "seal_revocation_files", "a CRL or OCSP response (DER or PEM)")
    fetch = r.get(raw, "seal_revocation_fetch", "minutes", bool, False, "expected true or false")
    if (revocation or fetch) and url is None:
        r.missing("minutes.seal_tsa_url", "revocation information (B-LT) is embedded only in a time-stamped "
                  "seal; add seal_tsa_url or remove seal_revocation_files/seal_revocation_fetch")
    return url, float(timeout), tsa_trust, revocation, bool(fetch)


def default_audiences(config: Config) -> tuple[Audience, ...]:
    labels = LABELS[config.group.language]
    return (
        Audience("members", labels["members"], None, None, False),
        Audience("council", labels["council"], (), None, False),
        Audience("union", labels["union"], (), None, True),
        Audience("intranet", labels["intranet"], None, config.data_dir / "intranet", True),
    )


def _audiences(config: Config, raw, r: ConfigReader) -> tuple[Audience, ...]:
    if raw is None:
        return default_audiences(config)
    if not isinstance(raw, list) or not raw:
        r.bad("minutes.audiences", raw, "expected [[minutes.audiences]] tables with name and addresses or folder")
        return default_audiences(config)
    labels = LABELS[config.group.language]
    out: list[Audience] = []
    seen: set[str] = set()
    for key, a in r.each(raw, "minutes.audiences", AUDIENCE_KEYS, "expected a table with name and addresses or folder"):
        name = a.get("name")
        if not isinstance(name, str) or not name.strip():
            r.missing(f"{key}.name", "name the audience, e.g. \"council\"")
            continue
        if name in seen:
            r.bad(f"{key}.name", name, "listed twice; give each audience its own name")
        seen.add(name)
        addresses = a.get("addresses")
        folder = a.get("folder")
        if addresses is not None and folder is not None:
            r.problems.append(f"{key}: has both addresses and folder; an audience gets mail or a file, split it in two")
        if folder is not None and (not isinstance(folder, str) or not folder.strip()):
            r.bad(f"{key}.folder", folder, "expected a folder path")
            folder = None
        if name == "intranet" and addresses is None and folder is None:
            folder = str(config.data_dir / "intranet")
        addr: tuple[str, ...] | None
        if addresses is None:
            addr = None if (name == "members" or folder is not None) else ()
        elif not isinstance(addresses, list) or not all(isinstance(x, str) for x in addresses):
            r.bad(f"{key}.addresses", addresses, "expected a list of e-mail addresses")
            addr = ()
        else:
            bad = [x for x in addresses if not EMAIL_RE.match(x.strip())]
            for x in bad:
                r.problems.append(f"{key}.addresses: {x!r} is not an e-mail address; write it like ksau@kommun.se")
            addr = tuple(x.strip().lower() for x in addresses if x not in bad)
        omit = a.get("omit_not_communicated", name in ("union", "intranet"))
        if not isinstance(omit, bool):
            r.bad(f"{key}.omit_not_communicated", omit, "expected true or false")
            omit = True
        label = a.get("label", labels.get(name, name))
        out.append(Audience(name, str(label), addr, (config.path.parent / folder).resolve() if folder else None, omit))
    return tuple(out)
