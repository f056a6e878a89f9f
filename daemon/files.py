"""Content-addressed file storage and file-name sanitising.

Every document the daemon receives or makes is stored once under
``<data>/files/ab/cdef…`` named by its SHA-256; the database keeps the
user-facing name. No name from a mail ever becomes a path: ``safe_name`` turns
whatever a sender wrote into a plain, portable file name.
"""

from __future__ import annotations

import itertools
import os
import re
import unicodedata
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

MAX_NAME_BYTES = 200  # file systems allow 255 bytes per name; leave room for " (2)" and a temp suffix
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


@cache
def _unsafe() -> re.Pattern:
    """What a file name may not hold. En and em dashes are common in Swedish document titles
    ("Budget 2027 – förslag.docx"). Compiled at the first name (a Unicode class: 0.7 ms of
    every start otherwise, issue 19)."""
    return re.compile(r"[^\w.\- ()&+,\u2013\u2014]", re.UNICODE)


def safe_name(name: str | None, fallback: str = "bilaga") -> str:
    """A portable file name from ``name``: no folders, no control or reserved
    characters, no leading dots, no Windows device names, at most 120 characters
    and ``MAX_NAME_BYTES`` bytes of UTF-8."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _unsafe().sub("_", name).strip(" ._")
    name = re.sub(r"_{2,}", "_", name)
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if stem.lower().split(".")[0] in _RESERVED:
        stem = f"_{stem}"
    ext = ext[:10]
    stem = stem[: 120 - len(ext) - 1] if ext else stem[:120]
    room = MAX_NAME_BYTES - (len(ext.encode()) + 1 if ext else 0)
    while len(stem.encode()) > room:
        stem = stem[:-1]
    stem = stem.rstrip(" ._")
    result = f"{stem}.{ext}" if ext and stem else (stem or ext)
    return result or fallback


def safe_path(folder: Path | str, name: str | None, fallback: str = "bilaga") -> Path:
    """``folder / safe_name(name)``, checked to lie directly inside ``folder``: the
    one way code turns a name from a mail into a path."""
    folder = Path(folder).resolve()
    target = (folder / safe_name(name, fallback)).resolve()
    if target.parent != folder:
        raise ValueError(f"the file name {name!r} would leave the folder {folder}; this is a bug in safe_name")
    return target


def unique_names(names: list[str], taken: Iterable[str] = ()) -> list[str]:
    """Make ``names`` distinct from each other and from ``taken`` (any case) by adding
    " (2)", " (3)" before the extension; a number already used is skipped, so
    ``x.pdf, x (2).pdf, x.pdf`` become ``x.pdf, x (2).pdf, x (3).pdf``."""
    used = {n.lower() for n in taken}
    out = []
    for name in names:
        stem, dot, ext = name.rpartition(".")
        candidate, n = name, 1
        while candidate.lower() in used:
            n += 1
            candidate = f"{stem} ({n}).{ext}" if dot and stem else f"{name} ({n})"
        used.add(candidate.lower())
        out.append(candidate)
    return out


# The first words of the names of klg's own files (agenda, invitation, meeting book, minutes), both languages.
OWN_FILE_WORDS = ("dagordning", "kallelse", "mötesbok", "minnesanteckningar", "sammanställning synpunkter",
                  "agenda", "invitation", "meeting book", "minutes", "compilation of comments")


def like_ours(name: str, short: str, own: Iterable[str] = ()) -> bool:
    """True when a member's file ``name`` could pass for one of klg's own files: it is
    one of ``own``, or starts like them (``Dagordning KLG …``, ``Kallelse KLG …``)."""
    plain = " ".join(unicodedata.normalize("NFC", name).replace("_", " ").split()).lower()
    if plain in {" ".join(o.split()).lower() for o in own}:
        return True
    return any(plain.startswith(f"{word} {short.lower()}") for word in OWN_FILE_WORDS)


def member_file_names(docs: list[tuple[str | None, str]], short: str, own: Iterable[str]) -> list[str]:
    """Names for members' documents ``(item id, name)`` (item None: klg's own, kept) in a mail that also carries klg's
    files ``own``: one that could pass for klg's is prefixed with its item id
    (``KLG-2026-042 Dagordning KLG 2026-12-01.pdf``), and all are distinct from each other and from ``own``."""
    own = list(own)
    names = [f"{item} {name}" if item and like_ours(name, short, own) else name for item, name in docs]
    return unique_names(names, taken=own)


def fingerprint(data: bytes) -> str:
    """The SHA-256 of a document klg made itself (never a member's: it is read whole):
    for an Office file (a zip) the names and
    contents of its parts, so the same document made twice a second apart (python-docx
    stamps each part with the time) has one fingerprint; for anything else its bytes."""
    import hashlib  # imported here, not at the top: start-up (issue 19): OpenSSL, for a command that stores nothing
    import io
    import zipfile

    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                digest = hashlib.sha256(b"zip")
                for info in sorted(z.infolist(), key=lambda i: i.filename):
                    digest.update(info.filename.encode("utf-8") + b"\0" + hashlib.sha256(z.read(info)).digest())
                return digest.hexdigest()
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError):
            pass
    return hashlib.sha256(data).hexdigest()


def publish(folder: Path, name: str, data: bytes, mode: int = 0o600) -> Path:
    """Write ``folder/name`` atomically and durably, so a reader never sees half a file;
    a file of the same name is replaced. Every file klg publishes is written this way."""
    import tempfile  # imported here, not at the top: start-up (issue 19)

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".klg-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, folder / name)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return folder / name


class FileStore:
    """Immutable blobs on disk, addressed by SHA-256, written atomically.

    Each file is fsync'd before ``put`` returns, except while :meth:`deferred`:
    then the files are written and renamed by a writer thread of their own while
    the caller goes on, and made durable together by :meth:`sync` (which waits for
    the writer, then one ``syncfs`` of the file system); the store's batch calls it
    before its COMMIT, so a committed row never names a file that a power cut could
    take back. Until then :meth:`get` and :meth:`path` answer for a file still being
    written as for one on disk.

    Why a thread: creating a file waits for the file system's journal, which during
    a backlog (hundreds of documents written, one ``syncfs`` a batch) took 0.1 to
    0.7 ms a file, twice per proposal, while intake did nothing else (issue 19)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._unsynced: list[str] | None = None  # deferred: written since the last sync
        self._folders: set[str] = set()  # shard folders known to exist
        self._serial = itertools.count()  # temporary names: pid and counter, unique without tempfile
        self._writer: ThreadPoolExecutor | None = None  # deferred: writes the files put
        self._queued: list[Future] = []  # deferred: the writes not yet waited for
        self._pending: dict[str, bytes] = {}  # deferred: files put, not yet renamed into place

    def path(self, sha256: str) -> Path:
        """Where the file of ``sha256`` is (once one still being written is in place)."""
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError(f"not a SHA-256 file key: {sha256!r}")
        if sha256 in self._pending:
            self._settle()
        return self.root / sha256[:2] / sha256[2:]

    def put(self, data: bytes) -> str:
        """Store ``data`` (fsync'd before returning, or by the next :meth:`sync`) and return its SHA-256."""
        import hashlib  # imported here, not at the top: start-up (issue 19)

        digest = hashlib.sha256(data).hexdigest()
        if digest in self._pending:
            return digest
        folder = self._folder(digest[:2])
        if self._writer is None:
            self._write(folder, digest, data)
        else:
            self._pending[digest] = data
            self._queued.append(self._writer.submit(self._write, folder, digest, data))
        return digest

    def _write(self, folder: str, digest: str, data: bytes) -> None:
        """Write ``data`` as ``digest`` in ``folder`` unless it is there whole (in the writer when deferred)."""
        # plain os calls on strings: pathlib and tempfile cost a backlog about 0.15 ms a file, issue 19
        target = folder + "/" + digest[2:]
        try:
            try:
                if os.stat(target).st_size == len(data):
                    return  # a file cut short by a power loss (written deferred) is written again
            except FileNotFoundError:
                pass
            # unique among live writers (pid, counter); one left by a killed process of the same pid is overwritten
            tmp = f"{folder}/.tmp-{os.getpid()}-{next(self._serial)}"
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
            try:
                fd = os.open(tmp, flags, 0o600)
            except FileNotFoundError:  # the folder was removed behind our back: make it again
                self._folders.discard(digest[:2])
                self._folder(digest[:2])
                fd = os.open(tmp, flags, 0o600)
            try:
                try:
                    os.fchmod(fd, 0o600)  # whatever the umask
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view):]
                    if self._unsynced is None:
                        os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(tmp, target)
            except BaseException:
                try:
                    os.unlink(tmp)
                except FileNotFoundError:
                    pass
                raise
            if self._unsynced is not None:
                self._unsynced.append(target)
        finally:
            self._pending.pop(digest, None)

    def _folder(self, shard: str) -> str:
        """The folder of a key's first two hex digits, made once per store."""
        folder = f"{self.root}/{shard}"
        if shard not in self._folders:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            self._folders.add(shard)
        return folder

    @contextmanager
    def deferred(self) -> Iterator["FileStore"]:
        """Files put inside are written by a thread and made durable by :meth:`sync`, not one by one (and at the end)."""
        if self._unsynced is not None:
            yield self
            return
        from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 -- start-up (issue 19): only batches need it

        self._unsynced = []
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="klg-files")
        try:
            yield self
        finally:
            try:
                self.sync()
            finally:
                self._writer.shutdown(wait=True)
                self._writer = None
                self._queued, self._unsynced = [], None
                self._pending.clear()

    def _settle(self) -> None:
        """Wait for every file put so far to be in place; raise the first write that failed
        (a full disk: the batch's COMMIT then does not happen, and the batch is done again)."""
        queued, self._queued = self._queued, []
        failure: BaseException | None = None
        for future in queued:
            try:
                future.result()
            except BaseException as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    def sync(self) -> None:
        """Make every file put since the last sync durable, with its folder entry."""
        self._settle()
        if not self._unsynced:
            return
        written, self._unsynced = self._unsynced, []
        # syncfs writes out the whole file system, other programs' files too: worth it for a
        # batch, not for the one acknowledgement of a message that came alone
        if len(written) <= FSYNC_AT_MOST or not _syncfs(self.root):
            for path in written:  # no syncfs here: each file and each folder, as put() does
                with open(path, "rb") as fh:
                    os.fsync(fh.fileno())
            for folder in {os.path.dirname(p) for p in written}:
                fd = os.open(folder, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)

    def get(self, sha256: str) -> bytes:
        """The bytes of ``sha256`` (from memory while its file is still being written)."""
        data = self._pending.get(sha256)
        return data if data is not None else self.path(sha256).read_bytes()


FSYNC_AT_MOST = 8  # up to this many files are fsync'd one by one; more with one syncfs
_libc = None  # the C library (ctypes.CDLL), False where it has no syncfs
_errno = None  # ctypes.get_errno, kept with the library


def _syncfs(where: Path) -> bool:
    """``syncfs(2)`` on the file system holding ``where``: one call writes every file
    put since the last one, data and folder entries (Linux; False where there is none)."""
    global _libc, _errno
    if _libc is None:
        try:
            import ctypes  # noqa: PLC0415 - only intake's batches need it, and only on Linux

            _errno = ctypes.get_errno
            _libc = ctypes.CDLL(None, use_errno=True)
            _libc.syncfs  # noqa: B018 - raises AttributeError where the C library has none
        except (OSError, AttributeError):
            _libc = False
    if not _libc:
        return False
    fd = os.open(where, os.O_RDONLY)
    try:
        if _libc.syncfs(fd) != 0:
            err = _errno()
            raise OSError(err, os.strerror(err), str(where))
    finally:
        os.close(fd)
    return True
