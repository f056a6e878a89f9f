"""The committed Word templates are what templates/build_*.py make: each builder,
run as a maintainer runs it, writes .docx files whose every part (document,
styles, header, footer, properties, relationships) is byte for byte the
committed file's. Only the zip container (entry timestamps) may differ."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from tests.helpers import REPO

BUILDERS = {
    "build_templates.py": ["agenda.docx"],
    "build_minutes.py": ["minutes.docx", "minutes_document.docx"],
    "build_compilation.py": ["compilation.docx"],
}


def parts(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


@pytest.mark.parametrize("builder", sorted(BUILDERS))
def test_a_rebuilt_template_is_the_committed_one(builder, tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "templates" / builder), "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    built = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.docx"))
    assert built == sorted(f"{lang}/{name}" for lang in ("en", "sv") for name in BUILDERS[builder])
    for name in built:
        rebuilt, committed = parts(tmp_path / name), parts(REPO / "templates" / name)
        assert sorted(rebuilt) == sorted(committed), name
        changed = [part for part in committed if rebuilt[part] != committed[part]]
        assert changed == [], f"{name}: rebuilding changes {changed}; run templates/{builder} and commit the result"


def test_a_builder_refuses_a_language_it_has_no_texts_for(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "templates" / "build_minutes.py"), "--out", str(tmp_path),
                             "de"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "no templates in de; the languages are sv, en" in result.stderr
    assert not list(tmp_path.iterdir())
