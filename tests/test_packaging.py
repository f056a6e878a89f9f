"""From a package to a running instance, as the README's Install section does it."""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile
from email import policy
from pathlib import Path

import pytest

from tests.helpers import MARIA, REPO, body, make_mail

SKIP = {".venv", ".venv-eark", ".git", "build", "dist", "data", "results", "__pycache__", ".pytest_cache", "klg.egg-info"}


def run(*cmd, cwd=None, timeout=300) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout}\n{result.stderr}"
    return result


def source_copy(target: Path) -> Path:
    """The working tree without what is built or run (links kept as links)."""
    shutil.copytree(REPO, target, symlinks=True, ignore=lambda d, names: [n for n in names if n in SKIP])
    for folder in (target / "mailboxes").iterdir():
        if folder.is_dir():
            shutil.rmtree(folder)
    return target


def test_release_installs_and_runs_an_instance_without_the_source_tree(tmp_path):
    src = source_copy(tmp_path / "src")
    # the release tarball carries what the README's Install section uses ...
    run(sys.executable, "-m", "build", "--sdist", "--outdir", tmp_path / "dist", src)
    [sdist] = (tmp_path / "dist").glob("klg-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {"systemd/klg@.service", "systemd/klg.sysusers", "systemd/credentials.conf.example", "SECURITY.md",
            "README.md", "daemon/templates/sv/mail/ack.txt", "daemon/defaults/klg.toml"} <= names
    # ... and the wheel built from it, what klg needs to run
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp_path / "dist", sdist)
    [wheel] = (tmp_path / "dist").glob("klg-*.whl")
    with zipfile.ZipFile(wheel) as whl:
        assert {"daemon/templates/sv/mail/ack.txt", "daemon/templates/en/mail/ack.txt", "daemon/defaults/klg.toml",
                "daemon/migrations/0006_ops.sql"} <= set(whl.namelist())

    # a fresh environment with only the wheel; the dependencies come from this one's site-packages
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    (site / "klg-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel)
    shutil.rmtree(src)  # nothing may come from the source tree any more

    klg = venv / "bin" / "klg"
    where = run(python, "-c", "import daemon; print(daemon.__file__)", cwd=tmp_path).stdout
    assert where.startswith(str(site))
    config, state = tmp_path / "etc" / "klg" / "klg.toml", tmp_path / "var" / "lib" / "klg" / "klg"
    run(klg, "--config", config, "init", state, cwd=tmp_path)
    assert sorted(p.name for p in (state / "templates" / "sv" / "mail").iterdir())
    run(klg, "--config", config, "check-config", cwd=tmp_path)
    (state / "mailboxes" / "inbox" / "new" / "1.eml").write_bytes(make_mail(MARIA, "Budgetuppföljning", "Tid: 15"))
    out = run(klg, "--config", config, "tick", "--now", "2026-11-20T09:00", cwd=tmp_path).stdout
    assert out.startswith("1 message handled, ")
    [sent] = list((state / "mailboxes" / "sent" / "new").iterdir())
    ack = email.message_from_bytes(sent.read_bytes(), policy=policy.default)
    assert ack["Subject"] == "[KLG-2026-001] Mottaget: Budgetuppföljning"
    assert "15 minuter" in body(ack)
    # status at the same given time: at the real time that meeting may be long past
    assert "KLG-2026-001" in run(klg, "--config", config, "status", "--now", "2026-11-20T09:05", cwd=tmp_path).stdout
    assert "proposal received" in run(klg, "--config", config, "log", cwd=tmp_path).stdout


def test_init_with_config_elsewhere_names_the_state_folder_absolutely(tmp_path, inst):
    config, state = tmp_path / "etc" / "klg" / "socialforvaltningen.toml", tmp_path / "state" / "socialforvaltningen"
    result = inst.klg("--config", str(config), "init", str(state))
    assert result.returncode == 0, result.stderr
    assert f"chgrp klg {config} && chmod 640 {config}" in result.stdout
    text = config.read_text()
    for line in (f'data = "{state / "data"}"', f'root = "{state / "mailboxes"}"', f'templates = "{state / "templates"}"'):
        assert line in text
    (state / "mailboxes" / "inbox" / "new" / "1.eml").write_bytes(make_mail(MARIA, "Budget", "Tid: 5"))
    result = inst.klg("--config", str(config), "tick", "--now", "2026-11-20T09:00")
    assert result.returncode == 0, result.stderr
    [sent] = list((state / "mailboxes" / "sent" / "new").iterdir())
    assert email.message_from_bytes(sent.read_bytes(), policy=policy.default)["Subject"] == "[KLG-2026-001] Mottaget: Budget"


as_root = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
NOBODY = 65534  # stands in for the service user klg (and its group)


@pytest.fixture
def server():
    """A folder standing in for the server's / (reachable by other users, unlike pytest's tmp)."""
    root = Path(tempfile.mkdtemp(prefix="klg-ops-server-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root)


def as_service_user(*args) -> subprocess.CompletedProcess:
    return subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", sys.executable,
                           "-m", "daemon", *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=60)


@as_root
def test_install_steps_give_the_service_user_what_it_needs(server):
    """README, Install: root runs `klg init`, follows its hint for the config, and
    systemd hands the state directory to the service user at the first start."""
    config, state = server / "etc" / "klg" / "klg.toml", server / "var" / "lib" / "klg" / "klg"
    init = subprocess.run([sys.executable, "-m", "daemon", "--config", str(config), "init", str(state)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr

    refused = as_service_user("--config", config, "status")
    assert refused.returncode == 2
    assert "the config file cannot be read (Permission denied)" in refused.stderr
    assert f"chgrp klg {config} && chmod 640 {config}" in refused.stderr

    os.chown(config, 0, NOBODY)  # the hint, with the stand-in group
    config.chmod(0o640)
    for path in [state, *state.rglob("*")]:  # what StateDirectory= does at the first start
        os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
    (state / "mailboxes" / "inbox" / "new" / "1.eml").write_bytes(make_mail(MARIA, "Budget", "Tid: 5"))
    tick = as_service_user("--config", config, "tick", "--now", "2026-11-20T09:00")
    assert tick.returncode == 0, tick.stderr
    status = as_service_user("--config", config, "status", "--now", "2026-11-20T09:00")
    assert status.returncode == 0, status.stderr
    assert "KLG-2026-001" in status.stdout


@as_root
def test_root_is_kept_out_of_the_service_users_data(inst):
    assert inst.klg("tick", "--now", "2026-11-20T09:00").returncode == 0
    data = inst.config.data_dir
    for path in [data, *data.rglob("*")]:
        os.chown(path, NOBODY, NOBODY)
    result = inst.klg("status")
    assert result.returncode == 1
    assert f"{data} belongs to the user nobody and this command runs as root" in result.stderr
    assert "sudo -u nobody klg" in result.stderr
    assert {p.stat().st_uid for p in [data, *data.rglob("*")]} == {NOBODY}
