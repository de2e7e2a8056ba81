"""Evidence files attached to a proposal: added by its proposers while it can be edited, never deleted, served
only to those who may see the proposal. Size and media types come from policies/credentials.yaml."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Response
from pydantic import BaseModel
from sqlalchemy import bindparam
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from app.approvals import access
from app.audit import service as audit
from app.errors import NotFound, PolicyViolation
from app.policies import Policies
from app.proposals.models import Attachment
from app.proposals.policy import CredentialPolicy
from app.security import Actor


class AttachmentPublic(BaseModel):
    id: int
    proposal_id: int
    filename: str
    content_type: str
    size: int
    description: str


def add(
    session: Session,
    proposal_id: int,
    actor: Actor,
    policies: Policies,
    *,
    filename: str,
    content_type: str,
    data: bytes,
    description: str = "",
) -> Attachment:
    proposal = access.get_proposal(session, proposal_id, actor)
    error = access.refusal(access.load_ctx(session, proposal), "edit", actor)
    if error is not None:
        raise type(error)(error.message.replace("edit and submit", "add evidence to"))
    return store(
        session,
        proposal_id,
        actor,
        policies,
        role="proposer",
        filename=filename,
        content_type=content_type,
        data=data,
        description=description,
    )


def store(
    session: Session,
    proposal_id: int,
    actor: Actor,
    policies: Policies,
    *,
    role: str,
    filename: str,
    content_type: str,
    data: bytes,
    description: str = "",
) -> Attachment:
    """Store a file on a proposal under the policy's size and type limits, audited: for a caller that has checked
    this person may add it (a proposer while editing; a body answering its ESG checklist, app.checklists)."""
    rules = policies.of(CredentialPolicy).attachments
    if not filename or not data:
        raise PolicyViolation("Choose a file to attach.", errors={"file": "Choose a file."})
    media = content_type.split(";")[0].strip().lower()
    if media not in rules.allowed_types:
        kinds = ", ".join(rules.allowed_types.values())
        raise PolicyViolation(f"Files of this type cannot be attached; use {kinds}.", errors={"file": "Wrong type."})
    if len(data) > rules.max_mb * 1024 * 1024:
        raise PolicyViolation(f"The file is larger than {rules.max_mb:g} MB.", errors={"file": "Too large."})
    row = Attachment(
        proposal_id=proposal_id,
        filename=filename.replace("/", "_").replace("\\", "_")[:200],
        content_type=media,
        size=len(data),
        description=description.strip()[:500],
        data=data,
        uploaded_by_id=actor.id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor_id=actor.id,
        actor_role=role,
        entity_type="proposal",
        entity_id=proposal_id,
        action="attachment.added",
        comment=row.filename,
        data={"attachment_id": row.id, "size": row.size, "content_type": media},
    )
    return row


def list_for(session: Session, proposal_id: int, only: list[int] | None = None) -> list[AttachmentPublic]:
    """The proposal's files, without their content (``only``: those of these ids)."""
    if only is None:
        rows = session.exec(_FILES, params={"proposal_id": proposal_id})
    else:
        rows = session.exec(_THESE_FILES, params={"proposal_id": proposal_id, "ids": only})
    return [AttachmentPublic.model_validate(r, from_attributes=True) for r in rows]


# Built once (building a statement costs more than running it): the proposal's files, or some of them.
_FILES = (
    select(Attachment)
    .options(defer(Attachment.data))  # type: ignore[arg-type]
    .where(Attachment.proposal_id == bindparam("proposal_id"))
    .order_by(col(Attachment.id))
)
_THESE_FILES = _FILES.where(col(Attachment.id).in_(bindparam("ids", expanding=True)))


def download(row: Attachment) -> Response:
    """The file as a download (never displayed inline, so an uploaded HTML file cannot run in our origin)."""
    disposition = f"attachment; filename*=UTF-8''{quote(row.filename)}"
    headers = {"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"}
    return Response(row.data, media_type=row.content_type, headers=headers)


def get(session: Session, attachment_id: int, actor: Actor) -> Attachment:
    row = session.get(Attachment, attachment_id)
    if row is None:
        raise NotFound(f"There is no attachment {attachment_id}.")
    access.get_proposal(session, row.proposal_id, actor)  # 404 unless the actor may see the proposal
    return row
