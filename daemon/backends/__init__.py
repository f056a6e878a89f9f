"""The mail backends behind the :class:`~daemon.mail.Mailbox` and
:class:`~daemon.mail.Transport` interface, and the one place that picks them.

- ``maildir``: the embedded default (folders under ``mailboxes/``);
- ``imap`` (with ``imap_connection``, ``imap_session``, ``imap_reading``,
  ``imap_moving``, ``imap_idle``) and ``smtp``, sharing ``netconf``;
- ``exchange_account``, ``exchange_mailbox``, ``exchange_transport``,
  ``exchange_errors``: Exchange on-premises through EWS;
- ``graph_client``, ``graph_mailbox``, ``graph_transport``, ``graph_errors``:
  Microsoft 365 through Microsoft Graph (``graph_settings`` checks its keys);
- ``envelope``: recipients into the headers, for Exchange and Graph;
- ``settings`` (and ``exchange_settings``, ``graph_settings``): the validation of ``[mailbox]`` and
  ``[transport]``, run by ``daemon.checks.load_config``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from daemon.backends.imap_state import ImapState
from daemon.backends.maildir import MaildirMailbox, MaildirTransport
from daemon.config import Config
from daemon.mail import Mailbox, MailError, Transport
from daemon.store import Store

# The network backends are imported by the functions below, only the configured
# one: their client libraries are slow to import (exchangelib alone 0.3 s), and
# every `klg` command, also `klg status`, loads this package.


def open_mailbox(config: Config, store: Store | None = None,
                 clock: Callable[[], datetime] | None = None) -> Mailbox:
    """The configured mailbox backend. The daemon passes its ``store`` and
    ``clock``: an IMAP mailbox keeps its folders' UIDVALIDITY there."""
    name = config.mailbox.backend
    if name == "maildir":
        return MaildirMailbox(config.mailbox.settings["root"], config.mailbox.settings, config.intake.poll_seconds)
    if name == "imap":
        from daemon.backends.imap import ImapMailbox  # noqa: PLC0415 -- start-up wiring: only the configured backend

        state = None
        if store is not None and clock is not None:
            s = config.mailbox.settings
            state = ImapState(store, f"{s.get('username', '')}@{s.get('host', '')}", clock)
        return ImapMailbox(config.mailbox, state, config.group.timezone)
    if name == "exchange":
        from daemon.backends.exchange_mailbox import ExchangeMailbox  # noqa: PLC0415 -- start-up wiring: exchangelib is slow

        return ExchangeMailbox(config.mailbox, config.group.address)
    if name == "graph":
        from daemon.backends.graph_mailbox import GraphMailbox  # noqa: PLC0415 -- start-up wiring: msal and httpx are slow

        return GraphMailbox(config.mailbox, config.data_dir)
    raise MailError(f"mailbox.backend = {name!r} is not known; use maildir, imap, exchange or graph")


def open_transport(config: Config) -> Transport:
    """The configured transport backend."""
    name = config.transport.backend
    if name == "maildir":
        return MaildirTransport(config.transport.settings["root"], config.transport.settings)
    if name == "smtp":
        from daemon.backends.smtp import SmtpTransport  # noqa: PLC0415 -- start-up wiring: only the configured backend

        return SmtpTransport(config.transport, mailbox=config.mailbox, own_address=config.group.address)
    if name == "exchange":
        from daemon.backends.exchange_transport import ExchangeTransport  # noqa: PLC0415 -- start-up wiring: exchangelib is slow

        return ExchangeTransport(config.transport, config.group.address)
    if name == "graph":
        from daemon.backends.graph_transport import GraphTransport  # noqa: PLC0415 -- start-up wiring: msal and httpx are slow

        return GraphTransport(config.transport)
    raise MailError(f"transport.backend = {name!r} is not known; use maildir, smtp, exchange or graph")
