"""The "type of quality assurance" element as the external QA record states it.

Proposals (``app.proposals.service``) take their element from here instead of free text, and the catalogue
(``app.catalogue.service``) shows it on the current edition, so a change of the record reaches every draft and the
current catalogue at once. A published edition keeps the text it was published with.
"""

from __future__ import annotations

from sqlmodel import Session

from app.external_qa.models import DECISION_LABELS, RECORD_ID, Decision, ExternalQaRecord
from app.org.policy import InstitutionPolicy
from app.policies import Policies

INTERNAL = "Internal quality assurance under ESG Part 1."


def get_record(session: Session) -> ExternalQaRecord | None:
    return session.get(ExternalQaRecord, RECORD_ID)


def statement(record: ExternalQaRecord) -> str:
    """One paragraph a learner or an employer can read, e.g. for a catalogue entry."""
    registered = "an EQAR-registered agency" if record.eqar_registered else "an agency not registered in EQAR"
    decision = DECISION_LABELS[Decision(record.decision)].lower()
    text = (
        f"{INTERNAL} External quality assurance: institutional review by {record.agency_name} ({registered}), "
        f"decision {decision} on {record.decision_on.isoformat()}; next review due by "
        f"{record.next_review_on.isoformat()}."
    )
    if record.deqar_report_id or record.deqar_report_url:
        report = " ".join(part for part in (record.deqar_report_id, record.deqar_report_url) if part)
        text += f" Report in DEQAR: {report}."
    return text


def recorded_statement(session: Session) -> str | None:
    """The record's statement, or None while nothing is recorded."""
    record = get_record(session)
    return statement(record) if record is not None else None


def current_statement(session: Session, policies: Policies) -> str:
    """The element for a proposal: the record's statement, or the institution's default until one is recorded."""
    return recorded_statement(session) or policies.of(InstitutionPolicy).quality_assurance
