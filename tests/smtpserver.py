"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the tests of
mailed invite, confirmation and password-reset links."""

from __future__ import annotations

import email
import re
import time
from email.message import EmailMessage
from email.policy import default

from aiosmtpd.controller import Controller

from tests.support import free_port


class Inbox:
    """aiosmtpd's handler: every mail accepted, kept parsed."""

    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []
        self.refuse: set[str] = set()  # recipients answered 550

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook name
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.mails.append(email.message_from_bytes(envelope.content, policy=default))
        return "250 Message accepted"


class SmtpServer:
    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def mails(self) -> list[EmailMessage]:
        return self.inbox.mails

    def last_to(self, address: str, timeout: float = 5.0) -> EmailMessage:
        """The newest mail to this address (waiting a moment for it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.mails if m["To"] == address]
            if found:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"no mail to {address}; got {[m['To'] for m in self.mails]}")


def link_in(mail: EmailMessage) -> str:
    """The one http(s) link in a mail's text."""
    links = re.findall(r"https?://\S+", mail.get_content())
    assert len(links) == 1, links
    return links[0]
