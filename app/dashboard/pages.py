"""The home page: a dashboard with one panel per role the user holds."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from app.dashboard import service
from app.db import SessionDep
from app.policies import PoliciesDep
from app.routing import page_router
from app.security import OptionalActor
from app.web import redirect, render

router = page_router()


@router.get("/")
def dashboard(request: Request, session: SessionDep, actor: OptionalActor, policies: PoliciesDep) -> Response:
    if actor is None:
        return redirect(request, "/login")
    return render(request, "dashboard/index.html", {"panels": service.panels(session, actor, policies)})
