"""Mail: composing the text and HTML of a message, and delivering it over SMTP.

Delivery uses the standard library (``smtplib``, ``email``): the sweep and its jobs are synchronous code running
in the scheduler's worker thread with a database session, so a blocking client fits without an event loop per job,
sends one message after another over one kept connection, and adds no dependency to keep up to date.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from app.settings import Settings


@dataclass(frozen=True)
class MailConfig:
    """What the sender job needs, taken from the settings once at start-up."""

    host: str
    port: int = 587
    username: str = ""
    password: str = ""
    starttls: bool = True
    sender: str = "MC-QA <mcqa@localhost>"
    timeout_seconds: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> MailConfig:
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value(),
            starttls=settings.smtp_starttls,
            sender=settings.mail_from,
            timeout_seconds=settings.smtp_timeout_seconds,
        )

    @property
    def enabled(self) -> bool:
        return bool(self.host)


class DeliveryFailed(Exception):
    """A message did not go out. ``permanent``: the server refused it for good (retrying will not help);
    ``unreachable``: no connection at all (the other messages of this sweep need not try)."""

    def __init__(self, message: str, *, permanent: bool = False, unreachable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.unreachable = unreachable


class SmtpMailer:
    """One SMTP connection per sweep, opened at the first message and reused for the next ones."""

    def __init__(self, config: MailConfig) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds)
        try:
            if cfg.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if cfg.username:
                smtp.login(cfg.username, cfg.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: EmailMessage) -> None:
        """Deliver one message or raise :class:`DeliveryFailed`."""
        for attempt in (1, 2):  # a kept connection may have been closed by the server meanwhile: reconnect once
            if self._smtp is None:
                try:
                    self._smtp = self._connect()
                except (OSError, smtplib.SMTPException) as exc:
                    raise DeliveryFailed(f"Cannot reach the mail server: {_describe(exc)}", unreachable=True) from exc
            try:
                self._smtp.send_message(message)
                return
            except smtplib.SMTPServerDisconnected as exc:
                self._drop()
                if attempt == 2:
                    raise DeliveryFailed(f"The mail server closed the connection: {_describe(exc)}") from exc
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _text in exc.recipients.values()]
                raise DeliveryFailed(
                    f"The mail server refused the recipient: {_describe(exc)}", permanent=all(c >= 500 for c in codes)
                ) from exc
            except smtplib.SMTPResponseException as exc:  # sender refused, data refused, ...
                raise DeliveryFailed(
                    f"The mail server refused the message: {_describe(exc)}", permanent=exc.smtp_code >= 500
                ) from exc
            except (OSError, smtplib.SMTPException) as exc:
                self._drop()
                raise DeliveryFailed(f"Sending failed: {_describe(exc)}") from exc

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


# --- composing -----------------------------------------------------------------------------------


def absolute(base_url: str, link: str) -> str:
    if link.startswith(("http://", "https://")):
        return link
    return base_url.rstrip("/") + "/" + link.lstrip("/")


def new_message_id(base_url: str) -> str:
    return make_msgid(idstring="mcqa", domain=urlsplit(base_url).hostname or "localhost")


def build_email(
    *,
    sender: str,
    to: str,
    subject: str,
    text_body: str,
    html_body: str,
    message_id: str,
    created_at: datetime,
) -> EmailMessage:
    """A multipart/alternative message: plain text first, HTML second (clients show the last they can)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id  # the same on every attempt, so a receiver can drop a duplicate
    message["Date"] = format_datetime(created_at)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies, please
    message.set_content(text_body)
    message.add_alternative(html_body, subtype="html")
    return message
