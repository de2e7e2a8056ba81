"""HTML pages for administering faculties, committees and programmes.

Every page is for administrators only. A refused write (a rule, an unknown id, a name already in use)
re-renders the same form with status 422 and what was typed, so nothing is lost: 422 is also the one error
status the htmx configuration in base.html swaps into the page. Each write runs in a savepoint, so a refusal
half-way through a service call leaves nothing behind even though the request itself still commits (and the
session stays usable for the re-render).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from app.db import SessionDep
from app.errors import DomainError
from app.forms import FormResult, PostedForm, parse_form
from app.org import service
from app.org.models import (
    COMMITTEE_KIND_LABELS,
    CommitteeCreate,
    CommitteeKind,
    MemberSet,
    ModuleCreate,
    OrgUnitCreate,
    ProgrammeCreate,
)
from app.policies import PoliciesDep
from app.security import AdminActor
from app.users.models import User
from app.web import is_htmx, redirect, render, with_toast

router = APIRouter()

T = TypeVar("T")


def _attempt(session: Session, form: FormResult[Any], write: Callable[[], T]) -> T | None:
    """Run one service call in a savepoint; on a domain refusal record its messages on the form."""
    try:
        with session.begin_nested():
            return write()
    except DomainError as exc:
        form.errors = {"__all__": exc.message, **exc.errors}
        return None


def _faculty_options(session: Session) -> list[tuple[int, str]]:
    return [(u.id or 0, u.name) for u in service.list_org_units(session)]


def _faculty_names(session: Session) -> dict[int | None, str]:
    return {u.id: u.name for u in service.list_org_units(session)}


def _active_user_options(session: Session) -> list[tuple[int, str]]:
    # Candidate for app/users/service.py (list_active_users); kept here while that module is owned elsewhere.
    users = session.exec(select(User).where(col(User.is_active)).order_by(col(User.name)))
    return [(u.id or 0, f"{u.name} ({u.email})") for u in users]


# --- faculties -----------------------------------------------------------------------------------


def _org_units_page(
    request: Request, session: Session, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    ctx = {"units": service.list_org_units(session), "values": values, "errors": errors}
    return render(request, "admin/org_units.html", ctx, status=status)


@router.get("/admin/org-units")
def admin_org_units(request: Request, session: SessionDep, _admin: AdminActor) -> Response:
    return _org_units_page(request, session, {}, {})


@router.post("/admin/org-units")
def admin_org_unit_create(request: Request, posted: PostedForm, session: SessionDep, admin: AdminActor) -> Response:
    form = parse_form(OrgUnitCreate, posted)
    if form.data is not None:
        data = form.data
        unit = _attempt(session, form, lambda: service.create_org_unit(session, data, by=admin))
        if unit is not None:
            message = f"Faculty {unit.name} ({unit.code}) created."
            return redirect(request, "/admin/org-units", message=message)
    return _org_units_page(request, session, form.values, form.errors, status=422)


# --- committees ----------------------------------------------------------------------------------


def _committees_page(
    request: Request, session: Session, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    faculty_names = _faculty_names(session)
    rows = []
    for public in service.committees_public(session, service.list_committees(session)):
        chair = next((m.name for m in public.members if m.is_chair), None)
        rows.append(
            {
                "id": public.id,
                "name": public.name,
                "kind_label": COMMITTEE_KIND_LABELS[public.kind],
                "faculty": faculty_names.get(public.org_unit_id),
                "chair": chair,
                "member_count": len(public.members),
            }
        )
    ctx = {
        "committees": rows,
        "kind_options": [(k.value, label) for k, label in COMMITTEE_KIND_LABELS.items()],
        "faculty_options": _faculty_options(session),
        "values": values,
        "errors": errors,
    }
    return render(request, "admin/committees.html", ctx, status=status)


@router.get("/admin/committees")
def admin_committees(request: Request, session: SessionDep, _admin: AdminActor) -> Response:
    return _committees_page(request, session, {}, {})


@router.post("/admin/committees")
def admin_committee_create(
    request: Request, posted: PostedForm, session: SessionDep, admin: AdminActor, policies: PoliciesDep
) -> Response:
    form = parse_form(CommitteeCreate, posted)
    if form.data is not None:
        data = form.data
        committee = _attempt(
            session, form, lambda: service.create_committee(session, data, by=admin, policies=policies)
        )
        if committee is not None:
            message = f"Committee {committee.name} created. Add its members now."
            return redirect(request, f"/admin/committees/{committee.id}", message=message)
    return _committees_page(request, session, form.values, form.errors, status=422)


def _committee_page(
    request: Request,
    session: Session,
    committee_id: int,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    status: int = 200,
    block: str | None = None,
    confirm: str = "",
) -> Response:
    committee = service.committee_public(session, service.get_committee(session, committee_id))
    ctx = {
        "confirm": confirm,
        "committee": committee,
        "kind_label": COMMITTEE_KIND_LABELS[CommitteeKind(committee.kind)],
        "faculty": _faculty_names(session).get(committee.org_unit_id),
        "user_options": _active_user_options(session),
        "values": values,
        "errors": errors,
    }
    return render(request, "admin/committee.html", ctx, status=status, block=block)


@router.get("/admin/committees/{committee_id}")
def admin_committee(
    request: Request,
    committee_id: int,
    session: SessionDep,
    _admin: AdminActor,
    confirm: Annotated[str, Query(max_length=40, description="A confirmation to show open (without JavaScript)")] = "",
) -> Response:
    return _committee_page(request, session, committee_id, {}, {}, confirm=confirm)


def _members_changed(request: Request, session: Session, committee_id: int, message: str) -> Response:
    if is_htmx(request):
        response = _committee_page(request, session, committee_id, {}, {}, block="members")
        return with_toast(response, message)
    return redirect(request, f"/admin/committees/{committee_id}", message=message)


@router.post("/admin/committees/{committee_id}/members")
def admin_committee_set_member(
    request: Request,
    posted: PostedForm,
    committee_id: int,
    session: SessionDep,
    admin: AdminActor,
    policies: PoliciesDep,
) -> Response:
    committee = service.get_committee(session, committee_id)
    form = parse_form(MemberSet, posted)
    if form.data is not None:
        data = form.data
        member = _attempt(
            session, form, lambda: service.set_member(session, committee, data, by=admin, policies=policies)
        )
        if member is not None:
            members = service.committee_public(session, committee).members
            name = next(m.name for m in members if m.user_id == data.user_id)
            message = f"{name} saved as a member of {committee.name}."
            return _members_changed(request, session, committee_id, message)
    block = "members" if is_htmx(request) else None
    return _committee_page(request, session, committee_id, form.values, form.errors, status=422, block=block)


@router.post("/admin/committees/{committee_id}/members/{user_id}/remove")
def admin_committee_remove_member(
    request: Request, committee_id: int, user_id: int, session: SessionDep, admin: AdminActor, policies: PoliciesDep
) -> Response:
    committee = service.get_committee(session, committee_id)
    public = service.committee_public(session, committee)
    name = next((m.name for m in public.members if m.user_id == user_id), "The member")
    service.remove_member(
        session, committee, user_id, by=admin, policies=policies
    )  # NotFound -> the 404 page or error toast
    return _members_changed(request, session, committee_id, f"{name} removed from {committee.name}.")


# --- programmes and modules ----------------------------------------------------------------------


def _programmes_page(
    request: Request, session: Session, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    ctx = {
        "programmes": service.programmes_public(session, service.list_programmes(session)),
        "faculty_names": _faculty_names(session),
        "faculty_options": _faculty_options(session),
        "values": values,
        "errors": errors,
    }
    return render(request, "admin/programmes.html", ctx, status=status)


@router.get("/admin/programmes")
def admin_programmes(request: Request, session: SessionDep, _admin: AdminActor) -> Response:
    return _programmes_page(request, session, {}, {})


@router.post("/admin/programmes")
def admin_programme_create(request: Request, posted: PostedForm, session: SessionDep, admin: AdminActor) -> Response:
    form = parse_form(ProgrammeCreate, posted)
    if form.data is not None:
        data = form.data
        programme = _attempt(session, form, lambda: service.create_programme(session, data, by=admin))
        if programme is not None:
            message = f"Programme {programme.code} {programme.name} created. Add its modules now."
            return redirect(request, f"/admin/programmes/{programme.id}", message=message)
    return _programmes_page(request, session, form.values, form.errors, status=422)


def _programme_page(
    request: Request,
    session: Session,
    programme_id: int,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    programme = service.programmes_public(session, [service.get_programme(session, programme_id)])[0]
    ctx = {
        "programme": programme,
        "faculty": _faculty_names(session).get(programme.org_unit_id),
        "values": values,
        "errors": errors,
    }
    return render(request, "admin/programme.html", ctx, status=status)


@router.get("/admin/programmes/{programme_id}")
def admin_programme(request: Request, programme_id: int, session: SessionDep, _admin: AdminActor) -> Response:
    return _programme_page(request, session, programme_id, {}, {})


@router.post("/admin/programmes/{programme_id}/modules")
def admin_programme_add_module(
    request: Request, posted: PostedForm, programme_id: int, session: SessionDep, admin: AdminActor
) -> Response:
    programme = service.get_programme(session, programme_id)
    form = parse_form(ModuleCreate, posted)
    if form.data is not None:
        data = form.data
        module = _attempt(session, form, lambda: service.add_module(session, programme, data, by=admin))
        if module is not None:
            message = f"Module {module.code} {module.name} added to {programme.code}."
            return redirect(request, f"/admin/programmes/{programme_id}", message=message)
    return _programme_page(request, session, programme_id, form.values, form.errors, status=422)
