"""A real SMTP server in the test process (aiosmtpd), on 127.0.0.1 and a free port, that keeps what arrives.

``stop()`` simulates an outage (connections are refused); ``start()`` brings it back on the same port.
Recipients starting with ``refused`` are refused for good (550), ``later`` for now (451). A closed ``gate``
holds the first message until it is opened, to keep a sweep busy while a test does something else.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from app.notifications.mail import MailConfig


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.gate = threading.Event()
        self.gate.set()
        self.first_arrived = threading.Event()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address.startswith("refused"):
            return "550 5.1.1 No such user here"
        if address.startswith("later"):
            return "451 4.7.1 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.first_arrived.set()
        if not self.gate.is_set():
            await asyncio.get_running_loop().run_in_executor(None, self.gate.wait, 30)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]) for m in self.messages]


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def config(self) -> MailConfig:
        return MailConfig(
            host="127.0.0.1", port=self.port, starttls=False, sender="MC-QA <mcqa@test.example>", timeout_seconds=5
        )
