"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the account-recovery tests."""

from __future__ import annotations

import re
import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

LINK = re.compile(r"https?://\S+")


class Inbox:
    """aiosmtpd's handler: every message delivered, parsed."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._arrived:
            self.messages.append(message)  # type: ignore[arg-type]
            self._arrived.notify_all()
        return "250 OK"

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        """The first `count` messages, once they are here (the app sends in a background thread)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(
                    f"expected {count} messages, {len(self.messages)} arrived in {timeout} s"
                )
            return self.messages[:count]

    def quiet(self, seconds: float = 1.0) -> int:
        """How many messages there are after `seconds` in which one could have arrived."""
        time.sleep(seconds)
        return len(self.messages)

    @staticmethod
    def link(message: EmailMessage) -> str:
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        found = LINK.findall(body.get_content())
        assert len(found) == 1, found
        return found[0]


class SmtpServer:
    def __init__(self):
        self.inbox = Inbox()
        with socket.socket() as probe:  # aiosmtpd checks its own port by connecting: it needs a number
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    @property
    def config(self) -> dict:
        """The app settings that send through this server."""
        return {
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": self.port,
            "MAIL_DEFAULT_SENDER": "scalpcheck@test.invalid",
        }
