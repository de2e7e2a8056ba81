"""Preferences and the daily digest: one mail a day listing everything since the last one, never twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from app.notifications import service
from app.notifications.jobs import digest_slot, send_digests, send_outbox
from app.notifications.models import DIGEST_KIND, Delivery, Notification, OutboxMessage
from tests.conftest import make_user
from tests.mailserver import SmtpServer

BASE = "https://mcqa.uni.example"
DAY1 = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)  # after the digest hour: the first digest is due the next morning
HOUR = 7


def _event(db: Session, user_ids: list[int], n: int, at: datetime) -> None:
    service.notify(
        db,
        recipients=user_ids,
        kind="proposal.submitted",
        subject=f"Event {n}",
        text=f"Something happened ({n}).",
        link=f"/proposals/{n}",
        base_url=BASE,
        now=at,
    )


def _outbox(db: Session, user_id: int) -> list[OutboxMessage]:
    db.expire_all()
    stmt = select(OutboxMessage).where(OutboxMessage.recipient_id == user_id).order_by(col(OutboxMessage.id))
    return list(db.exec(stmt))


def test_digest_slot_is_the_latest_digest_hour_at_or_before_now() -> None:
    assert digest_slot(datetime(2027, 3, 2, 7, 0, tzinfo=UTC), 7) == datetime(2027, 3, 2, 7, 0, tzinfo=UTC)
    assert digest_slot(datetime(2027, 3, 2, 6, 59, tzinfo=UTC), 7) == datetime(2027, 3, 1, 7, 0, tzinfo=UTC)
    assert digest_slot(datetime(2027, 3, 2, 23, 0, tzinfo=UTC), 7) == datetime(2027, 3, 2, 7, 0, tzinfo=UTC)


def test_preference_defaults_to_immediate_and_can_change(db: Session) -> None:
    user = make_user(db)
    assert service.get_delivery(db, user.id or 0) is Delivery.immediate
    service.set_delivery(db, user.id or 0, Delivery.digest, base_url=BASE, now=DAY1)
    assert service.get_delivery(db, user.id or 0) is Delivery.digest
    service.set_delivery(db, user.id or 0, Delivery.immediate, base_url=BASE, now=DAY1)
    assert service.get_delivery(db, user.id or 0) is Delivery.immediate


def test_one_digest_a_day_lists_every_notification_since_the_last_and_is_not_sent_twice(
    db: Session, smtp_server: SmtpServer
) -> None:
    digest_user = make_user(db, name="Dana Digest")
    instant_user = make_user(db)
    did, iid = digest_user.id or 0, instant_user.id or 0
    service.set_delivery(db, did, Delivery.digest, base_url=BASE, now=DAY1)
    for n, minutes in enumerate((0, 30, 300), start=1):
        _event(db, [did, iid], n, DAY1 + timedelta(minutes=minutes))

    # Immediate mail for one person, nothing yet for the other: their items wait for the digest.
    assert len(_outbox(db, iid)) == 3
    assert _outbox(db, did) == []
    pending = db.exec(select(Notification).where(Notification.user_id == did)).all()
    assert [n.outbox_message_id for n in pending] == [None, None, None]

    assert send_digests(db, DAY1 + timedelta(hours=12), digest_hour=HOUR, base_url=BASE) == 0  # not 07:00 yet
    morning = datetime(2027, 3, 2, 7, 0, 5, tzinfo=UTC)
    assert send_digests(db, morning, digest_hour=HOUR, base_url=BASE) == 1
    assert send_digests(db, morning + timedelta(hours=3), digest_hour=HOUR, base_url=BASE) == 0  # not twice a day

    [digest] = _outbox(db, did)
    assert digest.kind == DIGEST_KIND
    assert digest.subject == "MC-QA daily digest: 3 notifications"
    for n in (1, 2, 3):
        assert f"Event {n}" in digest.text_body and f"{BASE}/proposals/{n}" in digest.text_body
        assert f'<a href="{BASE}/proposals/{n}">' in digest.html_body
    db.expire_all()
    linked = db.exec(select(Notification.outbox_message_id).where(Notification.user_id == did)).all()
    assert linked == [digest.id] * 3

    assert send_outbox(db, morning, mail=smtp_server.config()) == 4  # 3 immediate mails, sent late, + 1 digest
    digests = [m for m in smtp_server.inbox.messages if "digest" in str(m["Subject"])]
    assert len(digests) == 1
    text_part = digests[0].get_body(preferencelist=("plain",))
    assert text_part is not None and "3 notifications since your last digest" in text_part.get_content()

    # The next day with nothing new: no empty mail. Something new: the next morning's digest has only that.
    assert send_digests(db, morning + timedelta(days=1), digest_hour=HOUR, base_url=BASE) == 0
    _event(db, [did], 4, morning + timedelta(days=1, hours=2))
    assert send_digests(db, morning + timedelta(days=2), digest_hour=HOUR, base_url=BASE) == 1
    latest = _outbox(db, did)[-1]
    assert latest.subject == "MC-QA daily digest: 1 notification"
    assert "Event 4" in latest.text_body and "Event 1" not in latest.text_body


def test_choosing_the_digest_before_the_hour_gets_it_the_same_morning(db: Session) -> None:
    user = make_user(db)
    early = datetime(2027, 3, 1, 5, 0, tzinfo=UTC)
    service.set_delivery(db, user.id or 0, Delivery.digest, base_url=BASE, now=early)
    _event(db, [user.id or 0], 1, early + timedelta(minutes=10))
    assert send_digests(db, early + timedelta(hours=2), digest_hour=HOUR, base_url=BASE) == 1


def test_leaving_the_digest_sends_what_waited_for_it_at_once_and_never_again(db: Session) -> None:
    """Back to immediate mail: the notifications collected for a digest go out in one last digest there and
    then (no later digest would carry them); what comes afterwards is mailed one by one, and no digest follows."""
    user = make_user(db, name="Dana Digest")
    uid = user.id or 0
    service.set_delivery(db, uid, Delivery.digest, base_url=BASE, now=DAY1)
    _event(db, [uid], 1, DAY1 + timedelta(minutes=5))
    _event(db, [uid], 2, DAY1 + timedelta(minutes=10))
    assert _outbox(db, uid) == []
    service.set_delivery(db, uid, Delivery.immediate, base_url=BASE, now=DAY1 + timedelta(hours=1))
    [last_digest] = _outbox(db, uid)
    assert last_digest.kind == DIGEST_KIND and "Event 1" in last_digest.text_body and "Event 2" in last_digest.text_body
    waiting = db.exec(select(Notification).where(Notification.user_id == uid)).all()
    assert {n.outbox_message_id for n in waiting} == {last_digest.id}
    # Choosing immediate mail again changes nothing more; the next notification comes on its own.
    service.set_delivery(db, uid, Delivery.immediate, base_url=BASE, now=DAY1 + timedelta(hours=2))
    _event(db, [uid], 3, DAY1 + timedelta(hours=3))
    assert [m.subject for m in _outbox(db, uid)][1:] == ["Event 3"]
    assert send_digests(db, DAY1 + timedelta(days=1), digest_hour=HOUR, base_url=BASE) == 0
    assert len(_outbox(db, uid)) == 2
