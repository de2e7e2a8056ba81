"""Every scheduled job, listed explicitly with the configuration each needs (bound here, once, at start-up).

The sweep runs them in this order: the approval alerts are written first and digests composed next, so that what
they write goes out with the outbox in the same sweep.
"""

from __future__ import annotations

from functools import partial

from app.approvals import jobs as approval_jobs
from app.catalogue import service as catalogue
from app.feedback import jobs as feedback_jobs
from app.notifications import jobs as notification_jobs
from app.notifications.mail import MailConfig
from app.policies import Policies
from app.reviews import jobs as review_jobs
from app.scheduler import ScheduledJob
from app.settings import Settings


def scheduled_jobs(settings: Settings, policies: Policies) -> tuple[ScheduledJob, ...]:
    return (
        ScheduledJob(
            "approvals.report_no_eligible_voter",
            partial(approval_jobs.report_no_eligible_voter, base_url=settings.base_url),
        ),
        ScheduledJob(
            "approvals.remind_and_escalate",
            partial(approval_jobs.remind_and_escalate, policies=policies, base_url=settings.base_url),
        ),
        ScheduledJob(
            "approvals.condition_reminders",
            partial(approval_jobs.condition_reminders, policies=policies, base_url=settings.base_url),
        ),
        ScheduledJob("reviews.offerings_ended", partial(review_jobs.offerings_ended, policies=policies)),
        ScheduledJob("reviews.open_due", partial(review_jobs.open_due, policies=policies)),
        ScheduledJob("reviews.open_triggered", partial(review_jobs.open_triggered, policies=policies)),
        ScheduledJob(
            "reviews.remind_and_escalate",
            partial(review_jobs.remind_and_escalate, policies=policies, base_url=settings.base_url),
        ),
        ScheduledJob(
            "reviews.action_reminders",
            partial(review_jobs.action_reminders, policies=policies, base_url=settings.base_url),
        ),
        ScheduledJob("catalogue.apply_due_editions", catalogue.apply_due_editions),
        ScheduledJob("feedback.open_at_offering_end", partial(feedback_jobs.open_at_offering_end, policies=policies)),
        ScheduledJob("feedback.close_due", partial(feedback_jobs.close_due, policies=policies)),
        ScheduledJob(
            "notifications.send_digests",
            partial(notification_jobs.send_digests, digest_hour=settings.digest_hour, base_url=settings.base_url),
        ),
        ScheduledJob(
            "notifications.send_outbox",
            partial(notification_jobs.send_outbox, mail=MailConfig.from_settings(settings)),
        ),
    )
