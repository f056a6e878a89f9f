"""The file store (``daemon/files.py``): documents and mails by SHA-256, written
atomically, readable by klg's user only, and written again when a power cut
left one short."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from daemon.files import FileStore


def _files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_a_document_is_stored_once_under_its_hash_for_klgs_user_only(tmp_path):
    old = os.umask(0o022)  # a usual umask: the file must still not be readable by others
    try:
        store = FileStore(tmp_path / "files")
        data = b"%PDF-1.7\n" + os.urandom(300_000)
        key = store.put(data)
        assert key == hashlib.sha256(data).hexdigest()
        assert store.get(key) == data
        assert store.put(data) == key  # the same bytes again: nothing new
        assert _files(tmp_path / "files") == [f"{key[:2]}/{key[2:]}"]  # no temporary file left behind
        assert stat.S_IMODE(os.stat(store.path(key)).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(store.path(key).parent).st_mode) == 0o700
    finally:
        os.umask(old)


def test_a_file_cut_short_is_written_again(tmp_path):
    store = FileStore(tmp_path / "files")
    data = b"x" * 10_000
    key = store.put(data)
    store.path(key).write_bytes(data[:4096])  # what a power cut can leave of a file written deferred
    assert store.put(data) == key and store.get(key) == data


def test_a_shard_folder_removed_behind_its_back_is_made_again(tmp_path):
    store = FileStore(tmp_path / "files")
    first = store.put(b"one")
    os.remove(store.path(first))
    os.rmdir(store.path(first).parent)  # an operator cleaning up, or a restore from backup
    assert store.put(b"one") == first and store.get(first) == b"one"


def test_files_put_deferred_are_all_there_after_sync(tmp_path):
    store = FileStore(tmp_path / "files")
    with store.deferred():
        keys = [store.put(f"mail {n}".encode()) for n in range(20)]
    assert [store.get(k) for k in keys] == [f"mail {n}".encode() for n in range(20)]
    assert len(_files(tmp_path / "files")) == 20


def test_a_file_put_deferred_can_be_read_before_the_sync(tmp_path):
    """Intake stores a document and reads it back (the acknowledgement, the page count)
    within the same batch, while the writer thread may not have written it yet."""
    store = FileStore(tmp_path / "files")
    data = os.urandom(200_000)
    with store.deferred():
        key = store.put(data)
        assert store.get(key) == data
        assert store.path(key).read_bytes() == data  # path() waits for the file to be in place
        assert store.put(data) == key  # the same bytes again while pending: one file
    assert _files(tmp_path / "files") == [f"{key[:2]}/{key[2:]}"]


def test_a_deferred_write_that_fails_fails_the_sync(tmp_path):
    """A write the thread could not do (here: its folder became a file) is raised by
    sync(), which the store's batch calls before its COMMIT, so no committed row names
    a file that is not there."""
    store = FileStore(tmp_path / "files")
    store.put(b"first")  # the shard folders of these keys are now known to the store
    doomed = hashlib.sha256(b"second").hexdigest()
    folder = tmp_path / "files" / doomed[:2]
    store._folder(doomed[:2])
    for leftover in folder.iterdir():
        leftover.unlink()
    folder.rmdir()
    folder.write_bytes(b"not a folder")
    with pytest.raises(NotADirectoryError):
        with store.deferred():
            store.put(b"second")
    folder.unlink()  # the operator's fix; the next batch writes it again
    with store.deferred():
        assert store.put(b"second") == doomed
    assert store.get(doomed) == b"second"
