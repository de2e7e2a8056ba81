"""Every scheduled job, listed explicitly with the configuration each needs (bound here, once, at start-up).

The sweep runs them in this order: digests are composed before the outbox is delivered, so a digest written in a
sweep goes out in the same sweep.
"""

from __future__ import annotations

from functools import partial

from app.notifications import jobs as notification_jobs
from app.notifications.mail import MailConfig
from app.scheduler import ScheduledJob
from app.settings import Settings


def scheduled_jobs(settings: Settings) -> tuple[ScheduledJob, ...]:
    return (
        ScheduledJob(
            "notifications.send_digests",
            partial(notification_jobs.send_digests, digest_hour=settings.digest_hour, base_url=settings.base_url),
        ),
        ScheduledJob(
            "notifications.send_outbox",
            partial(notification_jobs.send_outbox, mail=MailConfig.from_settings(settings)),
        ),
    )
