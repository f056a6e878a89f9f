#!/usr/bin/env python3
"""Render the picture of the agenda in the README (docs/agenda.png).

Runs a week on the embedded default in a temporary folder (proposals, draft,
approval, final agenda at Monday 14:00) and renders page 1 of the final PDF
with pdftoppm. Needs LibreOffice and poppler-utils.

    .venv/bin/python docs/render_agenda.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.agenda_helpers import DOCX, small_docx, tiny_pdf  # noqa: E402
from tests.helpers import (AHMED, CHAIR, ERIK, LENA, MARIA, PETER, SOFIA, at, attachment, make_mail,  # noqa: E402
                           new_instance)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        inst = new_instance(Path(tmp) / "klg")
        proposals = [
            (MARIA, "Budgetuppföljning oktober", "Tid: 15\nTyp: beslut", [("Budgetuppföljning oktober.pdf", tiny_pdf("Budget"), "application/pdf")]),
            (LENA, "Skolskjutsar – ny upphandling", "Tid: 25\nTyp: information", [("Förstudie skolskjutsar.docx", small_docx("Förstudie"), DOCX)]),
            (AHMED, "Lokalförsörjningsplan 2027–2030", "Tid: 30\nTyp: diskussion", []),
            (ERIK, "Rekrytering av socialsekreterare", "Tid: 15\nTyp: information", []),
            (SOFIA, "Medarbetarenkäten – resultat och fortsatt arbete", "Tid: 20\nTyp: diskussion", [("Medarbetarenkät 2026.pdf", tiny_pdf("Enkät"), "application/pdf")]),
            (PETER, "Krisberedskap inför vintern", "Tid: 10\nTyp: beslut", []),
        ]
        for sender, subject, text, files in proposals:
            inst.drop(make_mail(sender, subject, text, attachments=files))
        inst.tick(at("2026-11-27 09:00"))
        inst.tick(at("2026-11-30 10:05"))
        draft = inst.sent()[-1]
        inst.drop(make_mail(CHAIR, f"SV: {draft['Subject']}", "OK", reply_to=draft))
        inst.tick(at("2026-11-30 11:00"))
        inst.tick(at("2026-11-30 14:00"))
        final = next(m for m in inst.sent() if "Dagordning tisdag" in str(m["Subject"]))
        pdf = Path(tmp) / "agenda.pdf"
        pdf.write_bytes(attachment(final, "Dagordning KLG 2026-12-01.pdf"))
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                        str(HERE / "agenda")], check=True)
    print(HERE / "agenda.png")


if __name__ == "__main__":
    main()
