"""The script of the demo's week: the meeting on Tuesday 1 December 2026 and
the days around it, as data. Each ``Beat`` names a moment, who acts and what
they mail; ``propose`` and ``reply`` make those mails, and ``edit_agenda`` and
``fill_minutes`` are the chair's and the secretary's work in Word.
"""

from __future__ import annotations

from typing import Callable

from daemon.demo.play import SECRETARY, STRANGER, Beat, Week
from daemon.mail.outgoing import DOCX
from daemon.simulate import Agenda, fill_form, small_docx


def propose(subject: str, body: str, document: tuple[str, str] | None = None):
    """A new mail to the shared mailbox; ``document`` (file name, text) is attached as Word."""
    def make(week: Week, who: str) -> bytes:
        files = [(document[0], small_docx(document[1]), DOCX)] if document else []
        return week.mail_from(who, subject, body, attachments=files)
    return make


def reply(kind: str, body: str, *, edit: Callable[[bytes, str], bytes] | None = None,
          headers: dict[str, str] | None = None, prefix: str | None = None):
    """A reply to the newest mail of ``kind`` klg sent to the member; ``edit`` changes
    its .docx (bytes, language) and the result goes back attached."""
    def make(week: Week, who: str) -> bytes:
        original = week.newest(kind, who)
        files = []
        if edit is not None:
            name, data = week.docx_in(original)
            files.append((name, edit(data, week.language), DOCX))
        start = prefix or ("SV: " if week.language == "sv" else "Re: ")
        return week.mail_from(who, start + " ".join(str(original["Subject"]).split()), body, reply_to=original,
                              attachments=files, headers=headers)
    return make


TITLES = {
    "sv": {"budget": "Budgetuppföljning oktober", "recruit": "Rekrytering socialsekreterare",
           "transport": "Skolskjutsar, ny upphandling", "premises": "Lokalförsörjningsplan",
           "media": "Mediestrategi", "rules": "Riktlinjer för representation",
           "premises_next": "Ta fram ett förslag till KSAU"},
    "en": {"budget": "Budget follow-up October", "recruit": "Recruiting social workers",
           "transport": "School transport, new procurement", "premises": "Premises plan",
           "media": "Media strategy", "rules": "Guidelines for hospitality",
           "premises_next": "Draft a proposal for the council"},
}
FORM_COLUMNS = {
    "sv": ("Utfall", "Anteckningar / beslut", "Kommuniceras", "Ansvarig", "Nästa steg"),
    "en": ("Outcome", "Notes / decision", "Communicate", "Responsible", "Next step"),
}
NOTES = {
    "sv": [("Information från verksamheterna", "Information", "Rapporter från förvaltningarna."),
           ("Budgetuppföljning oktober", "Beslut", "KLG godkänner uppföljningen."),
           ("Rekrytering socialsekreterare", "Diskussion", "Svårt att rekrytera; annonsering i januari."),
           ("Skolskjutsar, ny upphandling", "Information", "Upphandlingen startar i januari."),
           ("Lokalförsörjningsplan", "Diskussion", "Behovet av skollokaler växer."),
           ("Mediaspaning", "Information", "Lokaltidningen skriver om vinterväghållningen.")],
    "en": [("Information från verksamheterna", "Information", "Reports from the departments."),  # standing items
           #   keep the config's (Swedish) titles in either language
           ("Budget follow-up October", "Decision", "The group approves the follow-up."),
           ("Recruiting social workers", "Discussion", "Hard to recruit; advertising in January."),
           ("School transport, new procurement", "Information", "The procurement starts in January."),
           ("Premises plan", "Discussion", "The need for school premises grows."),
           ("Mediaspaning", "Information", "The local paper writes about winter road maintenance.")],
}


def edit_agenda(data: bytes, language: str) -> bytes:
    """The chair's edits in Word: the premises plan first, school transport down to 15 minutes."""
    agenda = Agenda(data)
    agenda.move_before(TITLES[language]["premises"], TITLES[language]["budget"])
    agenda.set(TITLES[language]["transport"], 5, "15")
    return agenda.bytes()


def fill_minutes(data: bytes, language: str) -> bytes:
    """The secretary's notes in the form's table, and a co-signatory."""
    t, c = TITLES[language], FORM_COLUMNS[language]
    rows = {title: {c[0]: outcome, c[1]: notes, c[2]: "Ja" if language == "sv" else "Yes"}
            for title, outcome, notes in NOTES[language]}
    rows[t["premises"]].update({c[3]: "Ahmed Karimi", c[4]: t["premises_next"]})
    return fill_form(data, rows, signatory="Erik Sandberg", lang=language)


def script(language: str) -> list[Beat]:
    """The week before and after the meeting on Tuesday 1 December 2026."""
    sv = language == "sv"
    t = TITLES[language]

    def say(swedish: str, english: str) -> str:
        return swedish if sv else english

    return [
        Beat("2026-11-25 09:00", "Sofia Lund", f'mails a proposal for written procedure "{t["rules"]}" with a Word file',
             propose(t["rules"], say("Skriftligt förfarande: ja\nTyp: beslut\n\nFörslag till nya riktlinjer.",
                                     "Written procedure: yes\nKind: decision\n\nProposed new guidelines."),
                     (say("Riktlinjer.docx", "Guidelines.docx"), say("Riktlinjer för representation, utkast.",
                                                                     "Guidelines for hospitality, draft.")))),
        Beat("2026-11-26 09:10", "Maria Holm", f'mails a proposal "{t["budget"]}" with a Word file',
             propose(t["budget"], say("Tid: 15 min\nTyp: beslut\n\nUppföljning av oktober.",
                                      "Time: 15 min\nKind: decision\n\nThe October follow-up."),
                     (say("Budget oktober.docx", "Budget October.docx"), say("Budgetuppföljning oktober.",
                                                                              "Budget follow-up October.")))),
        Beat("2026-11-26 09:30", "Erik Sandberg", f'mails a proposal "{t["recruit"]}"',
             propose(t["recruit"], say("Tid: 30", "Time: 30"))),
        Beat("2026-11-26 10:00", "Erik Sandberg", "answers the written procedure",
             reply("circulation", say("Tillstyrker.", "Support."))),
        Beat("2026-11-26 10:15", "Johan Ek", "is away: his mail client answers the written procedure",
             reply("circulation", say("Jag är tjänstledig till och med 4 december.", "I am on leave until 4 December."),
                   headers={"Auto-Submitted": "auto-replied"},
                   prefix=say("Automatiskt svar: ", "Automatic reply: "))),
        Beat("2026-11-26 11:00", None, f"{STRANGER[0]} <{STRANGER[1]}> mails the shared mailbox an offer",
             lambda week, who: week.mail_from(None, say("Erbjudande: konferenspaket 2027", "Offer: conferences 2027"),
                                             say("Boka före jul!", "Book before Christmas!"))),
        Beat("2026-11-26 14:00", "Lena Åkesson", f'mails a proposal "{t["transport"]}" with a Word file',
             propose(t["transport"], say("Tid: 20\nTyp: information", "Time: 20\nKind: information"),
                     (say("Skolskjuts.docx", "School transport.docx"), say("Utredning om skolskjutsar.",
                                                                           "Report on school transport.")))),
        Beat("2026-11-26 16:00", None, "end of the day"),
        Beat("2026-11-27 09:00", "Ahmed Karimi", f'mails a proposal "{t["premises"]}"',
             propose(t["premises"], say("Tid: 20\nTyp: diskussion", "Time: 20\nKind: discussion"))),
        Beat("2026-11-27 10:00", "Karin Berg", "answers the written procedure",
             reply("circulation", say("Inga synpunkter.", "No comments."))),
        Beat("2026-11-27 10:30", "Lena Åkesson", "answers the written procedure",
             reply("circulation", say("Avstyrker. Beloppsgränserna är för höga.",
                                      "Object. The amounts are too high."))),
        Beat("2026-11-30 10:02", "Peter Nyström", f'mails a proposal "{t["media"]}", two minutes after the deadline',
             propose(t["media"], say("Tid: 10", "Time: 10"))),
        Beat("2026-11-30 10:05", None, "the draft agenda is due"),
        Beat("2026-11-30 11:00", "Karin Berg",
             f'moves "{t["premises"]}" up and shortens "{t["transport"]}" to 15 minutes in Word, '
             "and replies with the file",
             reply("agenda-draft", say("Här är mina ändringar.\n\n/Karin", "Here are my changes.\n\nKarin"),
                   edit=edit_agenda)),
        # Johan Ek (chancellery) is on leave, so his out-of-office counts for nothing: the chair approves
        Beat("2026-11-30 11:30", "Karin Berg", 'replies "OK" to version 2', reply("agenda-version", "OK")),
        Beat("2026-11-30 14:00", None, "the final agenda is due"),
        Beat("2026-11-30 15:00", "Lena Åkesson", 'replies "Förhinder" to the final agenda',
             reply("agenda-final", say("Förhinder: rektorsmöte i Umeå.", "Regrets: head teachers' meeting."))),
        Beat("2026-12-01 09:30", None, "the meeting starts (until 12:00)"),
        Beat("2026-12-01 12:00", None, "the meeting ends"),
        Beat("2026-12-01 15:00", SECRETARY, "fills in the form in Word and replies with it",
             reply("minutes-form", say("Här är anteckningarna.", "Here are the minutes."), edit=fill_minutes)),
        Beat("2026-12-01 16:00", None, "the day before the comment deadline"),
        Beat("2026-12-02 08:30", "Karin Berg", "approves the minutes",
             reply("minutes-sign", say("Justerat", "Approved"))),
        Beat("2026-12-02 08:45", "Erik Sandberg", "approves the minutes",
             reply("minutes-sign", say("Justerat, tack!", "Approved, thanks!"))),
        Beat("2026-12-02 10:00", "Maria Holm", "answers the reminder",
             reply("circulation-reminder", say("Tillstyrker.", "Support."))),
        Beat("2026-12-02 16:00", None, "the comment deadline"),
    ]

