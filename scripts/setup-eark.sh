# Sourced by test.sh (and the archive tests): eark-validator 1.1.3 in its own
# venv, .venv-eark, because it pins lxml and pydantic versions klg need not
# share. Installed again only when this script changed. The tests run it as a
# subprocess (tests/eark_run.py), so a missing validator skips those tests.
PY=${PYTHON:-python3}
EARK_STAMP=".venv-eark/.eark-validator-1.1.3"
if [ ! -f "$EARK_STAMP" ] || [ scripts/setup-eark.sh -nt "$EARK_STAMP" ]; then
  { "$PY" -m venv .venv-eark \
    && .venv-eark/bin/python -m pip install -q --disable-pip-version-check "eark-validator==1.1.3" \
    && touch "$EARK_STAMP"; } \
    || echo "eark-validator could not be installed into .venv-eark; the archive package tests will be skipped" >&2
fi
