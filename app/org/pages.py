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

from fastapi import Query, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from app.audit import timeline as audit_timeline
from app.db import SessionDep
from app.errors import DomainError
from app.forms import FormResult, PostedForm, parse_form
from app.org import service
from app.org.models import (
    COMMITTEE_KIND_LABELS,
    CommitteeCreate,
    CommitteeKind,
    CommitteeUpdate,
    MemberSet,
    MembershipEnd,
    ModuleCreate,
    OrgUnitCreate,
    ProgrammeCreate,
    ProgrammeUpdate,
)
from app.policies import Policies, PoliciesDep
from app.routing import page_router
from app.security import Actor, AdminActor
from app.users.models import User
from app.web import is_htmx, redirect, render, with_toast

router = page_router()

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
                "is_active": public.is_active,
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
    edit_values: dict[str, Any] | None = None,
    edit_errors: dict[str, str] | None = None,
) -> Response:
    row = service.get_committee(session, committee_id)
    committee = service.committee_public(session, row)
    chair = next((m.user_id for m in committee.members if m.is_chair), None)
    ctx = {
        "confirm": confirm,
        "committee": committee,
        "kind_label": COMMITTEE_KIND_LABELS[CommitteeKind(committee.kind)],
        "faculty": _faculty_names(session).get(committee.org_unit_id),
        "user_options": _active_user_options(session),
        "values": values,
        "errors": errors,
        "edit_values": edit_values
        or {
            "name": committee.name,
            "kind": committee.kind.value,
            "org_unit_id": committee.org_unit_id,
            "chair_user_id": chair,
        },
        "edit_errors": edit_errors or {},
        "kind_options": [(k.value, label) for k, label in COMMITTEE_KIND_LABELS.items()],
        "faculty_options": _faculty_options(session),
        "chair_options": [(m.user_id, m.name) for m in committee.members],
        "awaiting": service.awaiting(session, row),
        "timeline": service.committee_history(session, row, audit_timeline.shown(request)),
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


@router.post("/admin/committees/{committee_id}/edit")
def admin_committee_edit(
    request: Request,
    posted: PostedForm,
    committee_id: int,
    session: SessionDep,
    admin: AdminActor,
    policies: PoliciesDep,
) -> Response:
    committee = service.get_committee(session, committee_id)
    form = parse_form(CommitteeUpdate, posted)
    if form.data is not None:
        data = form.data
        saved = _attempt(
            session, form, lambda: service.update_committee(session, committee, data, by=admin, policies=policies)
        )
        if saved is not None:
            return redirect(request, f"/admin/committees/{committee_id}", message=f"{saved.name} saved.")
    return _committee_page(
        request, session, committee_id, {}, {}, status=422, edit_values=form.values, edit_errors=form.errors
    )


@router.post("/admin/committees/{committee_id}/deactivate")
def admin_committee_deactivate(
    request: Request, committee_id: int, session: SessionDep, admin: AdminActor, policies: PoliciesDep
) -> Response:
    return _set_committee_active(request, session, committee_id, False, admin, policies)


@router.post("/admin/committees/{committee_id}/reactivate")
def admin_committee_reactivate(
    request: Request, committee_id: int, session: SessionDep, admin: AdminActor, policies: PoliciesDep
) -> Response:
    return _set_committee_active(request, session, committee_id, True, admin, policies)


def _set_committee_active(
    request: Request, session: Session, committee_id: int, active: bool, admin: Actor, policies: Policies
) -> Response:
    committee = service.get_committee(session, committee_id)
    form: FormResult[Any] = FormResult(data=None, values={})
    done = _attempt(
        session, form, lambda: service.set_committee_active(session, committee, active, by=admin, policies=policies)
    )
    if done is not None:
        message = f"{done.name} {'reactivated' if active else 'deactivated: it decides nothing more'}."
        return redirect(request, f"/admin/committees/{committee_id}", message=message)
    return _committee_page(request, session, committee_id, {}, {}, status=422, edit_errors=form.errors)


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


def _member_name(session: Session, committee_id: int, user_id: int) -> str:
    public = service.committee_public(session, service.get_committee(session, committee_id))
    return next((m.name for m in [*public.members, *public.past_members] if m.user_id == user_id), "The member")


@router.post("/admin/committees/{committee_id}/members/{user_id}/end")
def admin_committee_end_membership(
    request: Request,
    posted: PostedForm,
    committee_id: int,
    user_id: int,
    session: SessionDep,
    admin: AdminActor,
    policies: PoliciesDep,
) -> Response:
    committee = service.get_committee(session, committee_id)
    name = _member_name(session, committee_id, user_id)
    form = parse_form(MembershipEnd, posted)
    if form.data is not None:
        on = form.data.ended_on
        ended = _attempt(
            session,
            form,
            lambda: service.end_membership(session, committee, user_id, on=on, by=admin, policies=policies),
        )
        if ended is not None:
            message = f"{name}'s membership of {committee.name} ends on {ended.ended_on:%Y-%m-%d}."
            return _members_changed(request, session, committee_id, message)
    block = "members" if is_htmx(request) else None
    form.errors.setdefault("__all__", f"The membership of {name} was not ended.")
    return _committee_page(request, session, committee_id, {}, form.errors, status=422, block=block)


@router.post("/admin/committees/{committee_id}/members/{user_id}/reinstate")
def admin_committee_reinstate(
    request: Request, committee_id: int, user_id: int, session: SessionDep, admin: AdminActor, policies: PoliciesDep
) -> Response:
    committee = service.get_committee(session, committee_id)
    name = _member_name(session, committee_id, user_id)
    service.reinstate_member(session, committee, user_id, by=admin, policies=policies)  # NotFound -> 404
    return _members_changed(request, session, committee_id, f"{name} is a member of {committee.name} again.")


@router.post("/admin/committees/{committee_id}/members/{user_id}/remove")
def admin_committee_remove_member(
    request: Request, committee_id: int, user_id: int, session: SessionDep, admin: AdminActor, policies: PoliciesDep
) -> Response:
    committee = service.get_committee(session, committee_id)
    name = _member_name(session, committee_id, user_id)
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
    *,
    confirm: str = "",
    edit_values: dict[str, Any] | None = None,
    edit_errors: dict[str, str] | None = None,
    module_id: int | None = None,
    module_values: dict[str, Any] | None = None,
    module_errors: dict[str, str] | None = None,
    edit_programme: bool = False,
) -> Response:
    row = service.get_programme(session, programme_id)
    programme = service.programmes_public(session, [row])[0]
    editing = next((m for m in programme.modules if m.id == module_id), None)
    ctx = {
        "confirm": confirm,
        "programme": programme,
        "faculty": _faculty_names(session).get(programme.org_unit_id),
        "values": values,
        "errors": errors,
        "edit_values": edit_values or programme.model_dump(include={"code", "name", "eqf_level", "ects"}),
        "edit_errors": edit_errors or {},
        "edit_programme": edit_programme or edit_values is not None,
        "editing": editing,
        "module_values": module_values
        or (editing.model_dump(include={"code", "name", "ects"}) if editing is not None else {}),
        "module_errors": module_errors or {},
        "timeline": service.programme_history(session, row, audit_timeline.shown(request)),
    }
    return render(request, "admin/programme.html", ctx, status=status)


@router.get("/admin/programmes/{programme_id}")
def admin_programme(
    request: Request,
    programme_id: int,
    session: SessionDep,
    _admin: AdminActor,
    confirm: Annotated[str, Query(max_length=40, description="A confirmation to show open (without JavaScript)")] = "",
    edit_module: Annotated[int | None, Query(description="The module whose edit form to show")] = None,
    edit: Annotated[str, Query(max_length=20, description="'programme': show the programme's edit form")] = "",
) -> Response:
    return _programme_page(
        request,
        session,
        programme_id,
        {},
        {},
        confirm=confirm,
        module_id=edit_module,
        edit_programme=edit == "programme",
    )


@router.post("/admin/programmes/{programme_id}/edit")
def admin_programme_edit(
    request: Request, posted: PostedForm, programme_id: int, session: SessionDep, admin: AdminActor
) -> Response:
    programme = service.get_programme(session, programme_id)
    form = parse_form(ProgrammeUpdate, posted)
    if form.data is not None:
        data = form.data
        saved = _attempt(session, form, lambda: service.update_programme(session, programme, data, by=admin))
        if saved is not None:
            return redirect(request, f"/admin/programmes/{programme_id}", message=f"{saved.code} {saved.name} saved.")
    return _programme_page(
        request, session, programme_id, {}, {}, status=422, edit_values=form.values, edit_errors=form.errors
    )


@router.post("/admin/programmes/{programme_id}/deactivate")
def admin_programme_deactivate(request: Request, programme_id: int, session: SessionDep, admin: AdminActor) -> Response:
    programme = service.set_programme_active(session, service.get_programme(session, programme_id), False, by=admin)
    message = f"{programme.code} deactivated: it is not offered for new proposals."
    return redirect(request, f"/admin/programmes/{programme_id}", message=message)


@router.post("/admin/programmes/{programme_id}/reactivate")
def admin_programme_reactivate(request: Request, programme_id: int, session: SessionDep, admin: AdminActor) -> Response:
    programme = service.set_programme_active(session, service.get_programme(session, programme_id), True, by=admin)
    return redirect(request, f"/admin/programmes/{programme_id}", message=f"{programme.code} reactivated.")


@router.post("/admin/programmes/{programme_id}/modules/{module_id}/edit")
def admin_module_edit(
    request: Request, posted: PostedForm, programme_id: int, module_id: int, session: SessionDep, admin: AdminActor
) -> Response:
    programme = service.get_programme(session, programme_id)
    module = service.get_module(session, programme, module_id)
    form = parse_form(ModuleCreate, posted)
    if form.data is not None:
        data = form.data
        saved = _attempt(session, form, lambda: service.update_module(session, programme, module, data, by=admin))
        if saved is not None:
            return redirect(request, f"/admin/programmes/{programme_id}", message=f"Module {saved.code} saved.")
    return _programme_page(
        request,
        session,
        programme_id,
        {},
        {},
        status=422,
        module_id=module_id,
        module_values=form.values,
        module_errors=form.errors,
    )


@router.post("/admin/programmes/{programme_id}/modules/{module_id}/deactivate")
def admin_module_deactivate(
    request: Request, programme_id: int, module_id: int, session: SessionDep, admin: AdminActor
) -> Response:
    return _set_module_active(request, session, programme_id, module_id, False, admin)


@router.post("/admin/programmes/{programme_id}/modules/{module_id}/reactivate")
def admin_module_reactivate(
    request: Request, programme_id: int, module_id: int, session: SessionDep, admin: AdminActor
) -> Response:
    return _set_module_active(request, session, programme_id, module_id, True, admin)


def _set_module_active(
    request: Request, session: Session, programme_id: int, module_id: int, active: bool, admin: Actor
) -> Response:
    programme = service.get_programme(session, programme_id)
    module = service.set_module_active(
        session, programme, service.get_module(session, programme, module_id), active, by=admin
    )
    state = "reactivated" if active else "deactivated: it is not offered for new proposals"
    return redirect(request, f"/admin/programmes/{programme_id}", message=f"Module {module.code} {state}.")


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
