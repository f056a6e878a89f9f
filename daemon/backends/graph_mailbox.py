"""The shared mailbox on Microsoft 365 through Graph: reading the inbox and moving messages.

New mail is found with a delta query on the inbox (``messages/delta``,
``changeType=created``): the first round lists every message there, and each
later round starts from the stored ``@odata.deltaLink`` and names only what
arrived since. The link is kept in the data folder (``graph-<mailbox>.json``),
so a restarted daemon resumes where it stopped; when Graph has forgotten it
(410 syncStateNotFound) a fresh round lists the inbox again, which is safe:
intake knows every Message-ID it has handled.

A message found is *pending* until it has been moved: the ids of pending
messages are stored with the link before any is handed out, so a message left
in the inbox (a failure of the machine, a crash before the move) is handed out
again next pass, though no delta round names it again. Each message is read
as raw MIME (``/messages/{id}/$value``), so klg's own parsing sees exactly the
bytes a member's client sent; ``move`` takes it to the processed or
quarantine folder (under the inbox; created when missing) only after its
effect is committed. Between passes the mailbox is polled every
``intake.poll_seconds``; change notifications would need a public endpoint.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

from daemon.backends.graph_client import GraphClient
from daemon.backends.graph_errors import GraphError
from daemon.config import Backend
from daemon.files import publish, safe_name
from daemon.mail import InboxMessage, MailError

log = logging.getLogger("klg.mail.graph")

PAGE = 100  # Prefer: odata.maxpagesize for delta rounds
FOLDER_NAMES = {"processed": "processed_folder", "quarantine": "quarantine_folder"}


class GraphMailbox:
    """The shared mailbox's inbox, processed and quarantine folders, over Graph."""

    def __init__(self, backend_config: Backend, data_dir: Path):
        s = backend_config.settings
        self.settings = s
        self.graph = GraphClient(s, "mailbox")
        self.address = s["mailbox"]
        self.create_folders = s.get("create_folders", True)
        self.state_path = Path(data_dir) / f"graph-{safe_name(self.address.lower(), 'mailbox')}.json"
        self._inbox: str | None = None
        self._folders: dict[str, str] = {}
        self._state: dict | None = None

    # -- the stored delta link and pending ids --

    def _load(self) -> dict:
        if self._state is None:
            try:
                self._state = json.loads(self.state_path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                self._state = {}
            except (OSError, ValueError) as exc:
                log.warning("graph: %s cannot be read (%s); listing the inbox afresh", self.state_path, exc)
                self._state = {}
            self._state.setdefault("pending", [])
        return self._state

    def _save(self) -> None:
        data = json.dumps(self._state, indent=1).encode("utf-8")
        publish(self.state_path.parent, self.state_path.name, data)

    # -- folders --

    def inbox(self) -> str:
        """The inbox's id (opening it also proves the app may read this mailbox)."""
        if self._inbox is None:
            self._inbox = self.graph.json("GET", "/mailFolders/inbox", "opening the inbox",
                                          params={"$select": "id,displayName"})["id"]
        return self._inbox

    def _child(self, parent: str, name: str) -> str | None:
        rows, _ = self.graph.pages(f"/mailFolders/{parent}/childFolders", f"listing the folders for {name!r}",
                                   params={"$select": "id,displayName", "$top": "100"})
        wanted = name.casefold()
        return next((r["id"] for r in rows if str(r.get("displayName", "")).casefold() == wanted), None)

    def folder(self, which: str) -> str:
        """The id of the processed or quarantine folder, created when missing (unless create_folders = false)."""
        if which not in self._folders:
            key = FOLDER_NAMES[which]
            path = self.settings[key]
            parent = self.inbox()
            for name in [p for p in path.split("/") if p]:
                found = self._child(parent, name)
                if found is None:
                    if not self.create_folders:
                        raise MailError(f"the folder {path!r} ({key}) does not exist under the inbox of "
                                        f"{self.address}: create it in Outlook or set create_folders = true")
                    found = self._create(parent, name)
                parent = found
            self._folders[which] = parent
        return self._folders[which]

    def _create(self, parent: str, name: str) -> str:
        log.info("graph: creating the folder %r in %s", name, self.address)
        try:
            return self.graph.json("POST", f"/mailFolders/{parent}/childFolders", f"creating the folder {name!r}",
                                   json={"displayName": name})["id"]
        except GraphError as exc:
            if exc.status != 409:  # 409 ErrorFolderExists: made meanwhile in Outlook
                raise
            found = self._child(parent, name)
            if found is None:
                raise
            return found

    # -- the Mailbox interface --

    def fetch(self) -> Iterator[InboxMessage]:
        """Every message waiting in the inbox, oldest first: the pending ones and
        those a delta round finds, each as its raw MIME."""
        state = self._load()
        inbox = self.inbox()
        if state.get("inbox") != inbox or state.get("graph_url") != self.settings["graph_url"]:
            state.clear()  # another mailbox or another cloud: its delta link and ids mean nothing here
            state.update({"inbox": inbox, "graph_url": self.settings["graph_url"], "pending": []})
        pending = {mid: received for mid, received in state["pending"]}
        for row in self._delta(state, inbox):
            if "@removed" in row:
                pending.pop(row["id"], None)
            else:
                pending.setdefault(row["id"], row.get("receivedDateTime") or "")
        # by time received; within a second, in the order Graph listed them (sorted is stable)
        state["pending"] = sorted(pending.items(), key=lambda kv: kv[1])
        self._save()
        for mid, _ in list(state["pending"]):
            response = self.graph.request("GET", f"/messages/{mid}/$value", "reading a message", missing_ok=True)
            if response is None:  # moved or deleted by someone meanwhile
                self._forget(mid)
                continue
            yield InboxMessage(key=mid, raw=response.content)

    def _delta(self, state: dict, inbox: str) -> list[dict]:
        headers = {"Prefer": f"odata.maxpagesize={PAGE}"}
        link = state.get("delta_link")
        try:
            if link:
                rows, last = self.graph.pages(link, "looking for new mail", headers=headers)
            else:
                rows, last = self._first_round(inbox, headers)
        except GraphError as exc:
            if not link or (exc.status != 410 and exc.code != "syncStateNotFound"):
                raise
            log.warning("graph: the stored delta link of %s is no longer known (%s); listing the inbox afresh",
                        self.address, exc.code)
            rows, last = self._first_round(inbox, headers)
        state["delta_link"] = last.get("@odata.deltaLink") or link
        return rows

    def _first_round(self, inbox: str, headers: dict[str, str]) -> tuple[list[dict], dict]:
        return self.graph.pages(f"/mailFolders/{inbox}/messages/delta", "listing the inbox", headers=headers,
                                params={"changeType": "created", "$select": "id,receivedDateTime,internetMessageId"})

    def _forget(self, key: str) -> None:
        state = self._load()
        state["pending"] = [p for p in state["pending"] if p[0] != key]
        self._save()

    def move(self, key: str, folder: str) -> None:
        """Move the message to ``processed`` or ``quarantine``; a message no longer there is left be."""
        for attempt in (1, 2):
            target = self.folder(folder)
            moved = self.graph.request("POST", f"/messages/{key}/move", f"moving a message to {folder}",
                                       json={"destinationId": target}, missing_ok=True)
            if moved is not None:
                break
            # 404: the message is gone, or the folder was deleted in Outlook meanwhile
            here = self.graph.request("GET", f"/messages/{key}", "looking for a message", missing_ok=True,
                                      params={"$select": "id"})
            if here is None:
                log.info("graph: message %s already left the inbox", key[-12:])
                break
            if attempt == 2:
                raise MailError(f"the {folder} folder of {self.address} cannot be found or made: check the "
                                f"folders under the inbox in Outlook")
            self._folders.pop(folder, None)
        self._forget(key)

    def wait(self, timeout: float) -> None:
        """Polling: sleep ``timeout`` seconds; the next fetch asks Graph."""
        time.sleep(max(0.0, timeout))

    def check(self) -> None:
        """Sign in, open the inbox and the processed and quarantine folders (creating them when allowed)."""
        self.inbox()
        for which in FOLDER_NAMES:
            self.folder(which)

    def close(self) -> None:
        """Close the connections; the next use opens new ones."""
        self.graph.close()
        self._inbox, self._folders = None, {}
