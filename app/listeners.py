"""Every listener of the workflow core, installed explicitly (no import side effects), with its configuration.

Called by the application factory and by the command line, so a transition made by a page, an API call, the
scheduler or the demo loader is heard the same way.
"""

from __future__ import annotations

from app.approvals.notices import Notices
from app.committees.notices import CommitteeNotices
from app.reviews.notices import ReviewNotices
from app.settings import Settings
from app.workflows import core


def install(settings: Settings) -> None:
    core.listen("notifications", Notices(base_url=settings.base_url))
    core.listen("reviews", ReviewNotices(base_url=settings.base_url))
    core.listen("committee_notices", CommitteeNotices(base_url=settings.base_url))
