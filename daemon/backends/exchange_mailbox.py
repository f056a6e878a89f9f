"""The shared mailbox on Exchange (EWS): reading the inbox and moving messages.

``fetch`` lists the inbox (FindItem, oldest first, ``FIND_PAGE`` ids a page)
and hands out each message's full MIME (GetItem with MimeContent) one at a
time; ``move`` is a MoveItem into the processed or quarantine folder, created
under the inbox, the mailbox root or a given folder path when missing.
``wait`` polls: it sleeps ``timeout`` seconds (the engine passes
``intake.poll_seconds``); EWS notifications are not used.
"""

from __future__ import annotations

import logging
import time
from typing import Iterator

from exchangelib import errors as ews
from exchangelib.fields import FieldPath
from exchangelib.folders import SHALLOW, Folder, FolderCollection
from exchangelib.services import CreateFolder

from daemon.backends.exchange_account import ExchangeAccount
from daemon.config import Backend
from daemon.mail import InboxMessage, MailError

log = logging.getLogger("klg.mail.exchange")

FIND_PAGE = 200


class ExchangeMailbox:
    """The shared mailbox on Exchange: its inbox, processed and quarantine folders."""

    def __init__(self, backend_config: Backend, group_address: str):
        self.ex = ExchangeAccount(backend_config, group_address, "mailbox")
        s = backend_config.settings
        self.folders_under = s.get("folders_under", "inbox")
        self.names = {"processed": s.get("processed_folder", "processed"),
                      "quarantine": s.get("quarantine_folder", "quarantine")}
        self.create_folders = s.get("create_folders", True)
        self._inbox: Folder | None = None
        self._parent: Folder | None = None
        self._folders: dict[str, Folder] = {}

    # -- folders --

    def _get_inbox(self) -> Folder:
        if self._inbox is None:
            self._inbox = self.ex.account().inbox
        return self._inbox

    def _children(self, parent: Folder) -> list[Folder]:
        name_field = FieldPath(field=Folder.get_field_by_fieldname("name"))
        found = FolderCollection(account=self.ex.account(), folders=[parent]).find_folders(
            depth=SHALLOW, additional_fields={name_field})
        children = []
        for f in found:
            if isinstance(f, Exception):
                raise f
            children.append(f)
        return children

    def _child(self, parent: Folder, name: str) -> Folder | None:
        wanted = name.casefold()
        return next((f for f in self._children(parent) if (f.name or "").casefold() == wanted), None)

    def _get_parent(self) -> Folder:
        if self._parent is None:
            spec = self.folders_under.strip().strip("/")
            if spec.lower() == "inbox":
                self._parent = self._get_inbox()
            elif spec.lower() == "root":
                self._parent = self.ex.account().msg_folder_root
            else:
                parts = [p for p in spec.split("/") if p]
                folder = self._get_inbox() if parts[0].lower() == "inbox" else self.ex.account().msg_folder_root
                start = 1 if parts[0].lower() == "inbox" else 0
                for part in parts[start:]:
                    child = self._child(folder, part)
                    if child is None:
                        raise MailError(f"the folder {part!r} of folders_under = {self.folders_under!r} does not exist "
                                        f"in {self.ex.address}: create it in Outlook or change folders_under")
                    folder = child
                self._parent = folder
        return self._parent

    def _where(self) -> str:
        spec = self.folders_under
        return {"inbox": "the inbox", "root": "the mailbox root"}.get(spec.lower(), repr(spec))

    def folder(self, which: str) -> Folder:
        """The processed or quarantine folder, created when missing (unless create_folders = false)."""
        if which not in self._folders:
            parent = self._get_parent()
            name = self.names[which]
            found = self._child(parent, name)
            if found is None:
                if not self.create_folders:
                    raise MailError(f"the folder {name!r} ({which}_folder) does not exist under {self._where()} of "
                                    f"{self.ex.address}: create it in Outlook or set create_folders = true")
                found = self._create(parent, name)
            self._folders[which] = found
        return self._folders[which]

    def _create(self, parent: Folder, name: str) -> Folder:
        log.info("creating the folder %r under %s of %s", name, self._where(), self.ex.address)
        new = Folder(root=parent.root, name=name, folder_class="IPF.Note")
        try:
            return CreateFolder(account=self.ex.account()).get(parent_folder=parent, folders=[new])
        except ews.ErrorFolderExists:  # created meanwhile by someone else
            existing = self._child(parent, name)
            if existing is None:
                raise
            return existing

    # -- the Mailbox interface --

    def fetch(self) -> Iterator[InboxMessage]:
        """Every message in the inbox, oldest first: the ids are listed first
        (so moving messages meanwhile skips none), then each MIME is fetched."""
        inbox = self.ex.run("listing the inbox", self._get_inbox)
        ids = self.ex.run("listing the inbox", lambda: self._list(inbox))
        for item_id in ids:
            item = self.ex.run("reading a message", lambda: self._get(inbox, item_id))
            if item is None:
                continue  # moved or deleted by someone else meanwhile
            if not item.mime_content:
                log.warning("inbox item %s has no MIME content (not a mail?); moving it to quarantine", item_id[-12:])
                self.move(item_id, "quarantine")
                continue
            yield InboxMessage(key=item_id, raw=bytes(item.mime_content))

    def _list(self, inbox: Folder) -> list[str]:
        qs = inbox.all().order_by("datetime_received").values_list("id", flat=True)
        qs.page_size = FIND_PAGE
        return [i for i in qs if isinstance(i, str)]

    def _get(self, inbox: Folder, item_id: str):
        for item in self.ex.account().fetch(ids=[(item_id, None)], folder=inbox, only_fields=["mime_content"]):
            if isinstance(item, (ews.ErrorItemNotFound, ews.ErrorInvalidIdMalformed)):
                return None
            if isinstance(item, Exception):
                raise item
            return item
        return None

    def move(self, key: str, folder: str) -> None:
        """Move the message to ``processed`` or ``quarantine``; a message that is no longer there is left be."""
        def do_move() -> None:
            for attempt in (1, 2):
                target = self.folder(folder)
                try:
                    results = self.ex.account().bulk_move(ids=[(key, None)], to_folder=target)
                except (ews.ErrorToFolderNotFound, ews.ErrorFolderNotFound):
                    if attempt == 2:
                        raise
                    self._folders.pop(folder, None)  # deleted or renamed in Outlook meanwhile: find or create it again
                    continue
                for result in results:
                    if isinstance(result, ews.ErrorItemNotFound):
                        log.info("message %s already left the inbox", key[-12:])
                    elif isinstance(result, Exception):
                        raise result
                return

        self.ex.run(f"moving a message to {folder}", do_move)

    def wait(self, timeout: float) -> None:
        """Polling: sleep ``timeout`` seconds; the next fetch asks the server."""
        time.sleep(max(0.0, timeout))

    def check(self) -> None:
        """Log in, open the inbox and the processed and quarantine folders (creating them when allowed)."""
        inbox = self.ex.run("opening the inbox", self._get_inbox)
        self.ex.run("listing the inbox", lambda: inbox.all().count())
        for which in ("processed", "quarantine"):
            self.ex.run(f"opening the {which} folder", lambda: self.folder(which))

    def close(self) -> None:
        """Close the connection; the next use opens a new one."""
        self.ex.close()
        self._inbox, self._parent, self._folders = None, None, {}
