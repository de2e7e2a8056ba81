"""The outbox and its sender against a real SMTP server: what arrives, retries with backoff, an outage that loses
nothing and sends nothing twice, refusals, and no mail server at all.

Jobs run on the test's session (rolled back afterwards); the SMTP server is real, in this process.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from app.notifications import service
from app.notifications.jobs import retry_delay, send_outbox
from app.notifications.mail import MailConfig
from app.notifications.models import Notification, OutboxMessage, OutboxStatus
from tests.conftest import make_user
from tests.mailserver import SmtpServer

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
BASE = "https://mcqa.uni.example"


def _notify(db: Session, user_ids: list[int], *, subject: str = "Proposal submitted: Data Literacy") -> None:
    service.notify(
        db,
        recipients=user_ids,
        kind="proposal.submitted",
        subject=subject,
        text="Alex Academic submitted “Data Literacy” for the faculty council.\nPlease review it.",
        link="/proposals/12",
        base_url=BASE,
        now=T0,
    )


def _outbox(db: Session, *user_ids: int) -> list[OutboxMessage]:
    db.expire_all()  # the jobs write with Core statements
    stmt = select(OutboxMessage).where(col(OutboxMessage.recipient_id).in_(user_ids)).order_by(col(OutboxMessage.id))
    return list(db.exec(stmt))


def test_a_message_arrives_with_text_and_html_parts_and_an_absolute_deep_link(
    db: Session, smtp_server: SmtpServer
) -> None:
    user = make_user(db, name="Carla Chair", email="carla@example.org")
    _notify(db, [user.id or 0])
    [row] = _outbox(db, user.id or 0)
    assert row.status == OutboxStatus.pending and row.attempts == 0

    assert send_outbox(db, T0, mail=smtp_server.config()) == 1

    [mail] = smtp_server.inbox.messages
    assert mail["To"] == "Carla Chair <carla@example.org>"
    assert mail["From"] == "MC-QA <mcqa@test.example>"
    assert mail["Subject"] == "Proposal submitted: Data Literacy"
    assert mail["Message-ID"] == row.message_id
    assert mail.get_content_type() == "multipart/alternative"
    text_part = mail.get_body(preferencelist=("plain",))
    html_part = mail.get_body(preferencelist=("html",))
    assert text_part is not None and html_part is not None
    text, html = text_part.get_content(), html_part.get_content()
    assert "Hello Carla Chair," in text
    assert "Alex Academic submitted “Data Literacy”" in text
    assert f"{BASE}/proposals/12" in text
    assert f'<a href="{BASE}/proposals/12">' in html
    assert "Alex Academic submitted “Data Literacy” for the faculty council." in html
    assert f"{BASE}/account" in text and f"{BASE}/account" in html

    [row] = _outbox(db, user.id or 0)
    assert (row.status, row.attempts, row.sent_at, row.last_error) == (OutboxStatus.sent, 1, T0, "")
    # Sent means sent: later sweeps leave it alone.
    assert send_outbox(db, T0 + timedelta(days=1), mail=smtp_server.config()) == 0
    assert len(smtp_server.inbox.messages) == 1


def test_html_part_escapes_what_the_event_wrote(db: Session, smtp_server: SmtpServer) -> None:
    user = make_user(db)
    service.notify(
        db,
        recipients=[user.id or 0],
        kind="comment.added",
        subject="New comment",
        text="<script>alert(1)</script> & more",
        link="/proposals/3",
        base_url=BASE,
        now=T0,
    )
    send_outbox(db, T0, mail=smtp_server.config())
    html_part = smtp_server.inbox.messages[0].get_body(preferencelist=("html",))
    assert html_part is not None
    html = html_part.get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html


def test_the_smtp_server_down_then_back_every_message_arrives_exactly_once(
    db: Session, smtp_server: SmtpServer
) -> None:
    started = time.monotonic()
    users = [make_user(db) for _ in range(5)]
    ids = [u.id or 0 for u in users]
    _notify(db, ids)
    mail = smtp_server.config()

    smtp_server.stop()
    assert send_outbox(db, T0, mail=mail) == 5
    rows = _outbox(db, *ids)
    assert [r.status for r in rows] == [OutboxStatus.pending] * 5  # nothing lost, nothing given up
    assert [r.attempts for r in rows] == [1] * 5
    assert all("Cannot reach the mail server" in r.last_error for r in rows)
    assert {r.next_attempt_at for r in rows} == {T0 + retry_delay(1)}

    # Still down a little later: nothing is due before the backoff is over, and then the wait doubles.
    assert send_outbox(db, T0 + timedelta(seconds=30), mail=mail) == 0
    second = T0 + retry_delay(1)
    assert send_outbox(db, second, mail=mail) == 5
    rows = _outbox(db, *ids)
    assert [r.attempts for r in rows] == [2] * 5
    assert {r.next_attempt_at for r in rows} == {second + retry_delay(2)}

    smtp_server.start()  # back, on the same port
    assert send_outbox(db, second + timedelta(minutes=1), mail=mail) == 0  # not due yet
    assert smtp_server.inbox.messages == []
    back = second + retry_delay(2)
    assert send_outbox(db, back, mail=mail) == 5

    rows = _outbox(db, *ids)
    assert sorted(smtp_server.inbox.message_ids()) == sorted(r.message_id for r in rows)
    assert len(set(smtp_server.inbox.message_ids())) == 5
    assert sorted(str(m["To"]).split("<")[1].rstrip(">") for m in smtp_server.inbox.messages) == sorted(
        u.email for u in users
    )
    assert [(r.status, r.attempts, r.sent_at) for r in rows] == [(OutboxStatus.sent, 3, back)] * 5
    assert all(r.last_error == "" for r in rows)
    assert send_outbox(db, back + timedelta(days=2), mail=mail) == 0
    assert len(smtp_server.inbox.messages) == 5
    print(f"\nSMTP down then back: {time.monotonic() - started:.2f} s")


def test_a_temporary_refusal_is_retried_with_exponential_backoff(db: Session, smtp_server: SmtpServer) -> None:
    user = make_user(db, email="later-please@example.org")
    _notify(db, [user.id or 0])
    mail = smtp_server.config()
    now = T0
    for attempt in range(1, 5):
        assert send_outbox(db, now, mail=mail) == 1
        [row] = _outbox(db, user.id or 0)
        assert (row.status, row.attempts) == (OutboxStatus.pending, attempt)
        assert "451" in row.last_error
        assert row.next_attempt_at == now + timedelta(minutes=2 ** (attempt - 1))
        assert send_outbox(db, row.next_attempt_at - timedelta(seconds=1), mail=mail) == 0
        now = row.next_attempt_at
    assert smtp_server.inbox.messages == []


def test_backoff_doubles_and_stops_growing_at_six_hours() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert retry_delay(9) == timedelta(minutes=256)
    assert retry_delay(10) == retry_delay(500) == timedelta(hours=6)


def test_a_permanent_refusal_is_kept_as_failed_and_not_retried(db: Session, smtp_server: SmtpServer) -> None:
    refused = make_user(db, email="refused@example.org")
    fine = make_user(db)
    _notify(db, [refused.id or 0, fine.id or 0])
    mail = smtp_server.config()
    assert send_outbox(db, T0, mail=mail) == 2
    bad, good = _outbox(db, refused.id or 0) + _outbox(db, fine.id or 0)
    assert (bad.status, bad.attempts) == (OutboxStatus.failed, 1)
    assert "550" in bad.last_error
    assert good.status == OutboxStatus.sent
    assert send_outbox(db, T0 + timedelta(days=1), mail=mail) == 0
    assert [str(m["To"]) for m in smtp_server.inbox.messages] == [f"Test Person <{fine.email}>"]


def test_without_a_mail_server_messages_wait_in_the_outbox_and_nothing_fails(db: Session) -> None:
    user = make_user(db)
    _notify(db, [user.id or 0])
    assert send_outbox(db, T0 + timedelta(days=3), mail=MailConfig(host="")) == 0
    [row] = _outbox(db, user.id or 0)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.pending, 0, "")


def test_notify_writes_in_the_callers_transaction_skipping_repeats_and_inactive_people(db: Session) -> None:
    active = make_user(db)
    inactive = make_user(db, active=False)
    made = service.notify(
        db,
        recipients=[active.id or 0, inactive.id or 0, active.id or 0],
        kind="proposal.approved",
        subject="Approved",
        text="Approved.",
        link="/proposals/1",
        base_url=BASE,
    )
    assert [n.user_id for n in made] == [active.id]
    assert made[0].outbox_message_id == _outbox(db, active.id or 0)[0].id
    assert _outbox(db, inactive.id or 0) == []
    assert db.exec(select(Notification).where(Notification.user_id == inactive.id)).all() == []


def test_notify_takes_a_path_in_the_app_as_link(db: Session) -> None:
    user = make_user(db)
    for link in ("https://elsewhere.example/x", "//elsewhere.example/x", "javascript:alert(1)"):
        with pytest.raises(ValueError, match="path in the app"):
            service.notify(db, recipients=[user.id or 0], kind="k", subject="s", text="t", link=link, base_url=BASE)
