"""Drafting a proposal: create, edit and check its elements, co-proposers, submission, withdrawal, revisions of a
published micro-credential, and comments.

Submission and withdrawal are events of the approval lifecycle (``app.approvals.access``): they go through the
workflow core, which checks who may send them; nothing here assigns a status.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, bindparam, union
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from app import limits
from app.approvals import deciders, history
from app.approvals.access import PROPOSAL, get_proposal, load_ctx, lock, role_of
from app.approvals.policy import ApprovalPolicy, VotingPolicy, VotingRule
from app.audit import service as audit
from app.catalogue import service as catalogue
from app.db import utcnow
from app.errors import Conflict, NotFound, PermissionDenied, PolicyViolation, TransitionNotAllowed
from app.external_qa import statement as external_qa
from app.org.models import COMMITTEE_KIND_LABELS, CommitteeKind, Module, Programme
from app.org.policy import InstitutionPolicy
from app.policies import Policies
from app.proposals import checks
from app.proposals import elements as el
from app.proposals.elements import changed_fields
from app.proposals.models import Comment, CommentEdit, CoProposer, Proposal, ProposalVersion
from app.proposals.policy import CredentialPolicy
from app.security import Actor
from app.text import in_sentence
from app.users.models import Role, User, UserRole
from app.workflows import core
from app.workflows.approval import FINAL_STATES, ProposalStatus
from app.workflows.core import SYSTEM

# --- drafting ------------------------------------------------------------------------------------


def default_content(session: Session, policies: Policies) -> dict[str, Any]:
    inst = policies.of(InstitutionPolicy)
    return {
        "awarding_bodies": [inst.awarding_body],
        "issuer_country": inst.country,
        "issuer_region": inst.region or None,
        "quality_assurance": external_qa.current_statement(session, policies),
        "national_level": None,
    }


def _with_recorded_qa(session: Session, values: dict[str, Any], policies: Policies) -> dict[str, Any]:
    """The "type of quality assurance" element comes from the external QA record, never from what was typed."""
    return {**values, "quality_assurance": external_qa.current_statement(session, policies)}


# Drafts whose content the proposers still edit: they follow the external QA record. A proposal under review
# keeps the text it was submitted with until publication, when the edition takes the record's current text.
FOLLOWS_QA_RECORD = (ProposalStatus.draft, ProposalStatus.changes_requested)


def refresh_quality_assurance(session: Session, text: str) -> int:
    """Put the external QA record's new text into every draft; returns how many drafts changed."""
    drafts = session.exec(
        select(Proposal).where(col(Proposal.status).in_([s.value for s in FOLLOWS_QA_RECORD])).with_for_update()
    )
    changed = 0
    for proposal in drafts:
        if proposal.content.get("quality_assurance") != text:
            proposal.content = {**proposal.content, "quality_assurance": text}
            session.add(proposal)
            changed += 1
    session.flush()
    return changed


def create_proposal(
    session: Session,
    actor: Actor,
    policies: Policies,
    *,
    kind: el.Kind,
    values: dict[str, Any],
    org_unit_id: int | None = None,
    co_proposer_ids: list[int] | None = None,
) -> tuple[Proposal, checks.Check]:
    if not actor.is_academic:
        raise PermissionDenied("Only academics can propose micro-credentials.")
    unit = org_unit_id or actor.org_unit_id
    if unit is None:
        raise PolicyViolation("Choose the owning faculty.", errors={"org_unit_id": "Choose the owning faculty."})
    if policies.of(CredentialPolicy).file_under == "own_faculty" and unit != actor.org_unit_id:
        message = "You can file a proposal only under your own faculty."
        raise PolicyViolation(message, errors={"org_unit_id": message})
    content, check = _validated(session, {**default_content(session, policies), **values}, policies, kind)
    _check_co_proposers(session, policies, unit, kind, actor.id, set(co_proposer_ids or []))
    credential_id = catalogue.create_credential(session, kind=kind.value, org_unit_id=unit, owner_id=actor.id)
    proposal = Proposal(
        credential_id=credential_id,
        kind=kind.value,
        org_unit_id=unit,
        owner_id=actor.id,
        content=content,
        title=content.get("title") or "",
    )
    _start_draft(session, proposal, actor, policies, action="created")
    _set_co_proposers(session, proposal, actor, policies, co_proposer_ids or [])
    session.flush()
    return proposal, check


def _start_draft(
    session: Session,
    proposal: Proposal,
    actor: Actor,
    policies: Policies,
    *,
    action: str,
    data: dict[str, Any] | None = None,
) -> int:
    """Store a new draft (a first proposal or a revision) and record where its history starts; its id."""
    session.add(proposal)
    session.flush()
    assert proposal.id is not None
    audit.record(
        session,
        actor_id=actor.id,
        actor_role="proposer",
        entity_type="proposal",
        entity_id=proposal.id,
        action=action,
        to_state=ProposalStatus.draft,
        policy_version=policies.of(CredentialPolicy).version,
        data=data or {},
    )
    return proposal.id


def _validated(
    session: Session,
    values: dict[str, Any],
    policies: Policies,
    kind: el.Kind,
    previous: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], checks.Check]:
    """Parse and check content for saving: any invalid field refuses the save (422), nothing is stored.
    ``previous``: the content saved before, whose parent programme and module stay allowed once deactivated."""
    elements, result = _checked(session, values, policies, kind, previous)
    if errors := result.errors:
        raise PolicyViolation(
            f"{len(errors)} field{'s' if len(errors) > 1 else ''} need{'' if len(errors) > 1 else 's'} correcting: "
            + ", ".join(el.LABELS.get(name, name) for name in errors),
            errors=errors,
        )
    return elements.model_dump(mode="json"), result


def _checked(
    session: Session,
    values: dict[str, Any],
    policies: Policies,
    kind: el.Kind,
    previous: Mapping[str, Any] | None,
) -> tuple[el.Elements, checks.Check]:
    """The parsed elements and every problem in them: parse errors, the policy's checks, the parent programme."""
    elements, errors = el.parse(_with_recorded_qa(session, values, policies))
    result = checks.check(elements, policies.of(CredentialPolicy), kind)
    result.errors = {**result.errors, **errors, **_parent_errors(session, elements, kind, previous)}
    result.missing = [m for m in result.missing if m not in errors]
    return elements, result


def _parent_errors(
    session: Session, elements: el.Elements, kind: el.Kind, previous: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The parent programme and module must exist and belong together; a deactivated one may not be newly chosen
    (a proposal that chose it before keeps it)."""
    errors: dict[str, str] = {}
    if kind is el.Kind.standalone:
        return errors
    previous = previous or {}
    if elements.parent_programme_id is not None:
        programme = session.get(Programme, elements.parent_programme_id)
        if programme is None:
            errors["parent_programme_id"] = "Unknown programme."
        elif not programme.is_active and previous.get("parent_programme_id") != programme.id:
            errors["parent_programme_id"] = "This programme is no longer offered: choose another."
    if elements.parent_module_id is not None:
        module = session.get(Module, elements.parent_module_id)
        if module is None:
            errors["parent_module_id"] = "Unknown module."
        elif module.programme_id != elements.parent_programme_id:
            errors["parent_module_id"] = "This module is not part of the chosen programme."
        elif not module.is_active and previous.get("parent_module_id") != module.id:
            errors["parent_module_id"] = "This module is no longer offered: choose another."
    return errors


def check_values(
    session: Session,
    values: dict[str, Any],
    policies: Policies,
    kind: el.Kind,
    previous: Mapping[str, Any] | None = None,
) -> checks.Check:
    """Inline validation: every problem in the posted values, without saving anything (``previous``: the content
    saved before, when editing, as ``_validated`` takes it)."""
    return _checked(session, values, policies, kind, previous)[1]


def _set_co_proposers(
    session: Session, proposal: Proposal, actor: Actor, policies: Policies, user_ids: list[int]
) -> None:
    """Co-proposers never vote on the proposal, so only whom policy allows may be named (``co_proposers`` in
    credentials.yaml): academics of the owning faculty (or any faculty), and members of a body on the route only
    when policy lets them. Those already named stay; submission checks them all again."""
    assert proposal.id is not None
    wanted = {uid for uid in user_ids if uid != proposal.owner_id}
    current = {c.user_id: c for c in session.exec(select(CoProposer).where(CoProposer.proposal_id == proposal.id))}
    added = wanted - current.keys()
    _check_co_proposers(session, policies, proposal.org_unit_id, el.Kind(proposal.kind), proposal.owner_id, added)
    for uid, row in current.items():
        if uid not in wanted:
            session.delete(row)
    for uid in added:
        session.add(CoProposer(proposal_id=proposal.id or 0, user_id=uid))


def _check_co_proposers(
    session: Session, policies: Policies, org_unit_id: int | None, kind: el.Kind, owner_id: int, added: set[int]
) -> None:
    """Refuse (422) naming anyone the form would not offer, before anything is written."""
    added = added - {owner_id}
    if not added:
        return
    refused = added - set(co_proposer_choices(session, policies, org_unit_id, kind))
    if refused:
        message = _co_proposer_refusal(session, policies, org_unit_id, kind, refused)
        raise PolicyViolation(message, errors={"co_proposers": message})


def co_proposer_choices(
    session: Session, policies: Policies, org_unit_id: int | None, kind: el.Kind, *, exclude: int | None = None
) -> dict[int, str]:
    """Who may be named co-proposer of a proposal of this faculty and kind, by id, with their names: what the form
    offers and what the service accepts."""
    rule = policies.of(CredentialPolicy).co_proposers
    stmt = (
        select(User.id, User.name)
        .join(UserRole, col(UserRole.user_id) == User.id)
        .where(UserRole.role == Role.academic.value, col(User.is_active))
        .order_by(col(User.name))
    )
    if rule.from_ == "owning_faculty":
        stmt = stmt.where(User.org_unit_id == org_unit_id)
    if exclude is not None:
        stmt = stmt.where(User.id != exclude)
    choices = {uid: name for uid, name in session.exec(stmt) if uid is not None}
    if not rule.members_of_route_bodies:
        for uid in _route_body_members(session, policies, org_unit_id, policies.of(ApprovalPolicy).route_for(kind)):
            choices.pop(uid, None)
    return choices


def _route_body_members(
    session: Session, policies: Policies, org_unit_id: int | None, route: list[CommitteeKind]
) -> dict[int, CommitteeKind]:
    """Members of the bodies on a route (a faculty council: the owning faculty's), with the first body each is in."""
    members: dict[int, CommitteeKind] = {}
    for body in route:
        panel = _body_panel(session, org_unit_id, body)
        for uid in panel.member_ids if panel else ():
            members.setdefault(uid, body)
    return members


def _body_panel(session: Session, org_unit_id: int | None, body: CommitteeKind) -> deciders.Panel | None:
    return deciders.panel_of(session, body, org_unit_id)


def _co_proposer_refusal(
    session: Session, policies: Policies, org_unit_id: int | None, kind: el.Kind, refused: set[int]
) -> str:
    names = dict(session.exec(select(User.id, User.name).where(col(User.id).in_(refused))).all())
    if set(names) != refused:
        return "A co-proposer is not an active user."
    members = _route_body_members(session, policies, org_unit_id, policies.of(ApprovalPolicy).route_for(kind))
    uid = min(refused)
    if uid in members and policies.of(CredentialPolicy).co_proposers.members_of_route_bodies is False:
        body = in_sentence(COMMITTEE_KIND_LABELS[members[uid]])
        return f"{names[uid]} cannot be a co-proposer: as a member of the {body}, they vote on this proposal."
    if policies.of(CredentialPolicy).co_proposers.from_ == "owning_faculty":
        return f"{names[uid]} cannot be a co-proposer: co-proposers are academics of the owning faculty."
    return f"{names[uid]} cannot be a co-proposer: co-proposers are academics."


def quorum_refusal(session: Session, proposal: Proposal, proposer_ids: set[int], policies: Policies) -> str | None:
    """Why the proposal cannot go to its route with these co-proposers, or None: a co-proposer in a body on the
    route must be allowed by policy, and the body must keep its quorum without them."""
    approval = policies.of(ApprovalPolicy)
    rule = policies.of(CredentialPolicy).co_proposers
    co = proposer_ids - {proposal.owner_id}
    for body_name in proposal.route:
        body = CommitteeKind(body_name)
        panel = _body_panel(session, proposal.org_unit_id, body)
        if panel is None or not (co & panel.member_ids):
            continue
        label = in_sentence(COMMITTEE_KIND_LABELS[body])
        if not rule.members_of_route_bodies:
            return f"A co-proposer is a member of the {label}, which decides on this proposal; remove them first."
        if not _keeps_quorum(approval.voting[body], panel, proposer_ids):
            return (
                f"The {label} would not keep its quorum: too few of its members would be left to vote, as "
                "co-proposers do not vote. Remove a co-proposer who is a member of it."
            )
    return None


def _keeps_quorum(voting: VotingPolicy, panel: deciders.Panel, proposer_ids: set[int]) -> bool:
    eligible = panel.eligible(proposer_ids)
    if voting.rule is VotingRule.chair:
        return panel.chair_id is not None and panel.chair_id in eligible
    if voting.rule is VotingRule.m_of_n:
        return len(eligible) >= (voting.m or 1)
    if voting.rule is VotingRule.majority:
        return len(eligible) >= max(1, math.ceil(voting.quorum * len(panel.member_ids)))
    return len(eligible) >= 1


def co_proposer_ids(session: Session, proposal: Proposal) -> list[int]:
    return list(session.exec(select(CoProposer.user_id).where(CoProposer.proposal_id == proposal.id)))


def update_proposal(
    session: Session,
    proposal_id: int,
    actor: Actor,
    policies: Policies,
    values: dict[str, Any],
    co_proposers: list[int] | None = None,
) -> tuple[Proposal, checks.Check]:
    locked = lock(session, proposal_id, actor, "edit")
    ctx, proposal = locked.ctx, locked.row
    content, check = _validated(session, values, policies, el.Kind(proposal.kind), proposal.content)
    if co_proposers is not None:
        _check_co_proposers(
            session,
            policies,
            proposal.org_unit_id,
            el.Kind(proposal.kind),
            proposal.owner_id,
            set(co_proposers) - ctx.proposer_ids,
        )
    changed = sorted(k for k in set(content) | set(proposal.content) if content.get(k) != proposal.content.get(k))
    proposal.content = content
    proposal.title = content.get("title") or ""
    proposal.updated_at = utcnow()
    if proposal.revision_no > 1 and not proposal.submission_count:
        # A revision says at once whether it is major or minor: the route it will take is known before submission.
        proposal.change_type = planned_route(session, proposal, policies).change_type
    if co_proposers is not None:
        _set_co_proposers(session, proposal, actor, policies, co_proposers)
    session.add(proposal)
    if changed:
        assert proposal.id is not None
        audit.record(
            session,
            actor_id=actor.id,
            actor_role=role_of(ctx, actor),
            entity_type="proposal",
            entity_id=proposal.id,
            action="edited",
            data={"fields": changed},
            policy_version=policies.of(CredentialPolicy).version,
        )
    session.flush()
    return proposal, check


# --- submission, withdrawal ----------------------------------------------------------------------


def submit(
    session: Session,
    proposal_id: int,
    actor: Actor,
    policies: Policies,
    responses: Mapping[str, str] | None = None,
) -> Proposal:
    """Submit a draft, or resubmit after changes were requested: then ``responses`` answers every point raised
    (``app.approvals.history``: by point key, "vote-<id>" or "decision-<id>")."""
    locked = lock(session, proposal_id, actor, "submit")
    proposal = locked.row
    kind = el.Kind(proposal.kind)
    elements, errors = el.parse(proposal.content)
    result = checks.check(elements, policies.of(CredentialPolicy), kind)
    problems = {**result.errors, **errors}
    missing = [el.LABELS.get(name, name) for name in result.missing]
    if missing or problems:
        parts = []
        if missing:
            parts.append("missing: " + ", ".join(missing))
        if problems:
            parts.append("to correct: " + ", ".join(el.LABELS.get(n, n) for n in problems))
        raise PolicyViolation(
            "The proposal cannot be submitted yet; " + "; ".join(parts) + ".",
            errors={**dict.fromkeys(result.missing, "Required for submission."), **problems},
        )
    if proposal.submission_count == 0:
        planned = planned_route(session, proposal, policies)
        proposal.route, proposal.change_type = [b.value for b in planned.bodies], planned.change_type
    quorum = quorum_refusal(session, proposal, locked.ctx.proposer_ids, policies)
    if quorum is not None:
        raise PolicyViolation(quorum, errors={"co_proposers": quorum})
    if proposal.status == ProposalStatus.changes_requested:
        history.record_responses(session, proposal, actor.id, proposal.submission_count + 1, responses or {})
    proposal.submission_count += 1
    assert proposal.id is not None
    session.add(
        ProposalVersion(
            proposal_id=proposal.id,
            version_no=proposal.submission_count,
            content=proposal.content,
            submitted_by_id=actor.id,
        )
    )
    core.fire(session, locked, "submit", actor, policies, comment=f"version {proposal.submission_count}")
    core.fire(
        session,
        locked,
        "route",
        SYSTEM,
        policies,
        data={"route": proposal.route, "change_type": proposal.change_type},
    )
    return proposal


@dataclass(frozen=True)
class PlannedRoute:
    """The bodies a proposal goes through and the kind of change it is ("new", "major" or "minor")."""

    bodies: list[CommitteeKind]
    change_type: str


def planned_route(
    session: Session, proposal: Proposal, policies: Policies, content: dict[str, Any] | None = None
) -> PlannedRoute:
    """The route from policy: by kind for a new offer; a revision's route depends on what it changes (a major
    field sends it through the full route, otherwise the minor-change route). The one routing function: the
    submission takes it, and the pages show it before submission (``content``: as typed in the form, not saved)."""
    approval = policies.of(ApprovalPolicy)
    if proposal.revision_no == 1:
        return PlannedRoute(approval.route_for(proposal.kind), "new")
    if major_fields_changed(session, proposal, policies, proposal.content if content is None else content):
        return PlannedRoute(approval.route_for(proposal.kind), "major")
    return PlannedRoute(approval.minor_change_route, "minor")


def major_fields_changed(session: Session, proposal: Proposal, policies: Policies, content: dict[str, Any]) -> bool:
    """Whether this content of a revision changes a field that makes a change major (credentials.yaml)."""
    before = catalogue.published_content(session, proposal.credential_id) or {}
    changed = set(changed_fields(before, content))
    return bool(changed & set(policies.of(CredentialPolicy).major_change_fields))


def planned_for_values(
    session: Session, proposal: Proposal, policies: Policies, values: dict[str, Any]
) -> PlannedRoute:
    """The route a revision would take with these form values (the form says major or minor as one types)."""
    elements, _ = el.parse(values)
    return planned_route(session, proposal, policies, elements.model_dump(mode="json"))


def route_of(session: Session, proposal: Proposal, policies: Policies) -> list[str]:
    """The route the proposal takes: the one it was given on submission, else the one it would be given now."""
    if proposal.submission_count:
        return list(proposal.route)
    return [b.value for b in planned_route(session, proposal, policies).bodies]


def withdraw(session: Session, proposal_id: int, actor: Actor, policies: Policies, comment: str = "") -> Proposal:
    limits.refuse_too_long(comment, limits.REASON, "comment", "The reason")
    return core.run(session, PROPOSAL, proposal_id, "withdraw", actor, policies, comment=comment).row


# --- revisions --------------------------------------------------------------------------------


def open_revision(session: Session, credential_id: int, actor: Actor, policies: Policies) -> Proposal:
    credential = catalogue.lock_credential(session, credential_id)
    if credential is None:
        raise NotFound(f"There is no micro-credential {credential_id}.")
    if credential.owner_id != actor.id:
        raise PermissionDenied("Only the owner can open a revision.")
    content = catalogue.published_content(session, credential_id)
    if content is None:
        raise TransitionNotAllowed("Only a published micro-credential can be revised.")
    open_one = open_proposal_of(session, credential_id)
    if open_one is not None:
        raise Conflict(
            f"Revision {open_one.revision_no} is already open for this micro-credential (proposal {open_one.id}): "
            "continue it rather than opening another."
        )
    last = session.exec(
        select(Proposal).where(Proposal.credential_id == credential_id).order_by(col(Proposal.revision_no).desc())
    ).first()
    assert last is not None
    proposal = Proposal(
        credential_id=credential_id,
        revision_no=last.revision_no + 1,
        change_type="minor",
        kind=credential.kind,
        org_unit_id=credential.org_unit_id,
        owner_id=actor.id,
        content=_with_recorded_qa(session, content, policies),
        title=content.get("title") or "",
    )
    proposal_id = _start_draft(
        session, proposal, actor, policies, action="revision_opened", data={"credential_id": credential_id}
    )
    for uid in co_proposer_ids(session, last):
        session.add(CoProposer(proposal_id=proposal_id, user_id=uid))
    session.flush()
    return proposal


def set_effective_date(
    session: Session, proposal_id: int, actor: Actor, policies: Policies, effective_on: date | None
) -> Proposal:
    """The proposer says from when an approved revision takes effect (None: as soon as it is approved). Only a
    revision, only while it can be edited, only a future date; the last body's approval confirms it."""
    locked = lock(session, proposal_id, actor, "edit")
    proposal = locked.row
    if proposal.revision_no == 1:
        message = "A first edition takes effect when it is approved; only a revision can take effect later."
        raise PolicyViolation(message, errors={"effective_on": message})
    if effective_on is not None and effective_on <= date.today():
        message = "Choose a date after today, or leave it empty to take effect on approval."
        raise PolicyViolation(message, errors={"effective_on": message})
    if proposal.effective_on == effective_on:
        return proposal
    proposal.effective_on = effective_on
    proposal.updated_at = utcnow()
    session.add(proposal)
    assert proposal.id is not None
    audit.record(
        session,
        actor_id=actor.id,
        actor_role=role_of(locked.ctx, actor),
        entity_type="proposal",
        entity_id=proposal.id,
        action="effective_date.set",
        comment=f"Takes effect on {effective_on.isoformat()}." if effective_on else "Takes effect on approval.",
        data={"effective_on": effective_on.isoformat() if effective_on else None},
        policy_version=policies.of(CredentialPolicy).version,
    )
    session.flush()
    return proposal


def open_proposal_of(session: Session, credential_id: int) -> Proposal | None:
    """The micro-credential's proposal still under way (a draft or open revision), if any: at most one."""
    return session.exec(
        select(Proposal).where(
            Proposal.credential_id == credential_id,
            col(Proposal.status).not_in(sorted(FINAL_STATES)),
        )
    ).first()


# --- comments ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommentAdded:
    """Announced to the installed listeners (notifications) in the transaction that adds the comment."""

    session: Session
    proposal: Proposal
    comment: Comment
    author: Actor


def add_comment(session: Session, proposal_id: int, actor: Actor, body: str, parent_id: int | None = None) -> Comment:
    proposal = get_proposal(session, proposal_id, actor)
    if not body.strip():
        raise PolicyViolation("The comment is empty.", errors={"body": "Write something."})
    limits.refuse_too_long(body.strip(), limits.COMMENT, "body", "The comment")
    if parent_id is not None:
        parent = session.get(Comment, parent_id)
        if parent is None or parent.proposal_id != proposal.id:
            raise NotFound("The comment you reply to does not exist on this proposal.")
    comment = Comment(proposal_id=proposal_id, parent_id=parent_id, author_id=actor.id, body=body.strip())
    session.add(comment)
    session.flush()
    audit.record(
        session,
        actor_id=actor.id,
        actor_role=role_of(load_ctx(session, proposal), actor),
        entity_type="proposal",
        entity_id=proposal_id,
        action="comment.added",
        comment=comment.body,
        data={"comment_id": comment.id, "parent_id": parent_id},
    )
    core.announce(CommentAdded(session, proposal, comment, actor))
    return comment


def edit_comment(session: Session, comment_id: int, actor: Actor, body: str) -> Comment:
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise NotFound(f"There is no comment {comment_id}.")
    get_proposal(session, comment.proposal_id, actor)
    if comment.author_id != actor.id:
        raise PermissionDenied("You can only edit your own comments.")
    if not body.strip():
        raise PolicyViolation("The comment is empty; comments cannot be deleted.", errors={"body": "Write something."})
    limits.refuse_too_long(body.strip(), limits.COMMENT, "body", "The comment")
    session.add(CommentEdit(comment_id=comment_id, previous_body=comment.body))
    comment.body, comment.edited_at = body.strip(), utcnow()
    session.add(comment)
    audit.record(
        session,
        actor_id=actor.id,
        entity_type="proposal",
        entity_id=comment.proposal_id,
        action="comment.edited",
        comment=comment.body,
        data={"comment_id": comment_id},
    )
    session.flush()
    return comment


# --- lists ---------------------------------------------------------------------------------------


def _mine(actor_id: int | BindParameter[int]) -> ColumnElement[bool]:
    """The proposals the person owns or co-proposes. Their ids are read apart, each from its own index, and joined:
    an ``OR`` of the two reads the whole proposal table on PostgreSQL (10.9 ms against 2.5 to 4.6 ms on 10,000)."""
    owned = sa_select(col(Proposal.id)).where(col(Proposal.owner_id) == actor_id)
    co_proposed = sa_select(col(CoProposer.proposal_id)).where(col(CoProposer.user_id) == actor_id)
    return col(Proposal.id).in_(union(owned, co_proposed))


@dataclass
class CredentialRow:
    """One micro-credential in "My proposals": its current edition (the proposal that published it) and the
    proposal under way (a first draft, or an open revision), and the latest proposal when neither."""

    credential_id: int
    proposals: list[Proposal]  # mine, oldest revision first

    @property
    def current(self) -> Proposal | None:
        return next((p for p in reversed(self.proposals) if p.status == ProposalStatus.published), None)

    @property
    def open(self) -> Proposal | None:
        return next((p for p in self.proposals if p.status not in FINAL_STATES), None)

    @property
    def latest(self) -> Proposal:
        return self.proposals[-1]

    @property
    def title(self) -> str:
        return (self.open or self.current or self.latest).title

    @property
    def state(self) -> str:
        """What the row counts as on the dashboard: its open proposal's status, else published or how it ended."""
        return edition_state([p.status for p in self.proposals])


def edition_state(statuses: list[str]) -> str:
    """A micro-credential's state from its proposals' statuses, oldest revision first: the open proposal's status,
    else published (an edition in the catalogue), else how the latest ended."""
    for status in statuses:
        if status not in FINAL_STATES:
            return status
    return ProposalStatus.published if ProposalStatus.published in statuses else statuses[-1]


def my_credentials(
    session: Session, actor: Actor, *, offset: int = 0, limit: int = 25
) -> tuple[list[CredentialRow], int]:
    """My micro-credentials (as owner or co-proposer of a proposal), most recently changed first: one row each."""
    mine = _mine(actor.id)
    total = session.exec(select(func.count(func.distinct(Proposal.credential_id))).where(mine)).one()
    ids = [
        cid
        for cid, _ in session.exec(
            select(Proposal.credential_id, func.max(Proposal.updated_at).label("changed"))
            .where(mine)
            .group_by(col(Proposal.credential_id))
            .order_by(func.max(Proposal.updated_at).desc(), col(Proposal.credential_id).desc())
            .offset(offset)
            .limit(limit)
        )
    ]
    return _credential_rows(session, mine, ids), total


def _credential_rows(session: Session, mine: Any, ids: list[int]) -> list[CredentialRow]:
    by_credential: dict[int, list[Proposal]] = {cid: [] for cid in ids}
    if ids:
        for p in session.exec(
            select(Proposal).where(mine, col(Proposal.credential_id).in_(ids)).order_by(col(Proposal.revision_no))
        ):
            by_credential[p.credential_id].append(p)
    return [CredentialRow(cid, proposals) for cid, proposals in by_credential.items()]


# Built once: every dashboard of an academic reads it. Two columns per proposal, no ORM objects.
_MY_STATUSES = (
    sa_select(col(Proposal.credential_id), col(Proposal.status))
    .where(_mine(bindparam("actor_id")))
    .order_by(col(Proposal.credential_id), col(Proposal.revision_no))
)


def my_summary(session: Session, actor: Actor) -> dict[str, int]:
    """How many of my micro-credentials are in each state, one count per micro-credential (so "published" is what
    the catalogue lists of mine; a published one with an open revision counts under the revision's status too)."""
    statuses: dict[int, list[str]] = {}
    for credential_id, status in session.connection().execute(_MY_STATUSES, {"actor_id": actor.id}):
        statuses.setdefault(credential_id, []).append(status)
    counts: dict[str, int] = {}
    for editions in statuses.values():
        state = edition_state(editions)
        if ProposalStatus.published in editions:
            counts[ProposalStatus.published] = counts.get(ProposalStatus.published, 0) + 1
        if state != ProposalStatus.published:
            counts[state] = counts.get(state, 0) + 1
    return counts


def my_proposals(session: Session, actor: Actor, *, offset: int = 0, limit: int = 25) -> tuple[list[Proposal], int]:
    where = _mine(actor.id)
    total = session.exec(select(func.count()).select_from(Proposal).where(where)).one()
    rows = session.exec(
        select(Proposal)
        .where(where)
        .order_by(col(Proposal.updated_at).desc(), col(Proposal.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows), total
