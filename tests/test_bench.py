"""The load-test data generator at a tiny scale: exact sizes and a consistent workflow history."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from sqlmodel import Session, col, select

from app.approvals.models import Vote
from app.approvals.policy import ApprovalPolicy
from app.approvals.voting import Ballot, Choice, decide
from app.audit.models import AuditEvent
from app.catalogue.models import Credential, CredentialVersion
from app.db import make_engine
from app.org.models import Committee, CommitteeKind, CommitteeMember
from app.policies import load_policies
from app.proposals import checks
from app.proposals import elements as el
from app.proposals.models import CoProposer, Proposal, ProposalVersion
from app.proposals.policy import CredentialPolicy
from app.security import hash_token
from app.settings import ROOT
from app.users.models import ApiToken
from app.workflows.approval import BODY_OF_REVIEW_STATE
from bench.generate import Sizes, generate
from tests.conftest import fresh_database_url, migrate

SIZES = Sizes(faculties=2, academics=30, proposals=50, audit_events=300, votes=100, vote_targets=5, tokens_per_role=2)


def test_generator_fills_a_consistent_database(tmp_path: Path) -> None:
    url, drop = fresh_database_url(tmp_path, "bench")
    try:
        migrate(url)
        generated = generate(url, SIZES, quiet=True)
        engine = make_engine(url)
        try:
            with Session(engine) as db:
                _check(db, generated.council_member_id, generated.vote_target_ids, generated.tokens)
        finally:
            engine.dispose()
    finally:
        drop()
    assert generated.counts["proposal"] == 50
    assert generated.awaiting_count >= 0


def _check(db: Session, council_member_id: int, targets: list[int], tokens: dict[str, list[str]]) -> None:
    proposals = db.exec(select(Proposal).order_by(col(Proposal.id))).all()
    votes = db.exec(select(Vote)).all()
    events = db.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    assert len(proposals) == SIZES.proposals
    assert len(votes) == SIZES.votes
    assert len(events) == SIZES.audit_events
    assert all(e.entity_type == "proposal" for e in events)

    # Faculty councils of five with one chair, one per faculty.
    councils = db.exec(select(Committee).where(Committee.kind == "faculty_council")).all()
    assert len(councils) == SIZES.faculties
    for council in councils:
        members = db.exec(select(CommitteeMember).where(CommitteeMember.committee_id == council.id)).all()
        assert len(members) == SIZES.council_size
        assert sum(m.is_chair for m in members) == 1

    # Every state is consistent with where the proposal is in its route.
    policies = load_policies(ROOT / "policies")
    assert {p.status for p in proposals} >= {"draft", "faculty_council_review", "published"}
    for p in proposals:
        assert p.status != "submitted"
        if p.status in BODY_OF_REVIEW_STATE:
            assert p.current_body == BODY_OF_REVIEW_STATE[p.status].value
            assert p.current_body in p.route
            assert p.review_round >= 1
        else:
            assert p.current_body is None
        if p.status != "draft" and p.submission_count:
            check = checks.check(el.Elements.model_validate(p.content), policies.of(CredentialPolicy), el.Kind(p.kind))
            assert check.errors == {} and check.missing == [], (p.id, check)
        versions = db.exec(select(ProposalVersion).where(ProposalVersion.proposal_id == p.id)).all()
        assert len(versions) == p.submission_count
        if p.status in ("approved", "published", "rejected", "withdrawn"):
            assert p.decided_at is not None

    # Every published proposal is an edition in the catalogue.
    for p in proposals:
        if p.status == "published":
            edition = db.exec(select(CredentialVersion).where(CredentialVersion.proposal_id == p.id)).one()
            credential = db.get(Credential, p.credential_id)
            assert credential is not None and credential.current_version_no >= edition.version_no >= 1
            if credential.current_version_no == edition.version_no:
                assert edition.effective_to is None
                assert credential.title == p.content["title"] and credential.eqf_level == p.content["eqf_level"]
                assert p.content["title"].lower() in credential.search_text

    # Votes: unique per round and voter, by members of the body, never on a round that has not started.
    keys = Counter((v.proposal_id, v.review_round, v.voter_id) for v in votes)
    assert max(keys.values()) == 1
    by_id = {p.id: p for p in proposals}
    members_of: dict[int, set[int]] = defaultdict(set)
    for m in db.exec(select(CommitteeMember)).all():
        members_of[m.committee_id].add(m.user_id)
    co_proposers: dict[int, set[int]] = defaultdict(set)
    for c in db.exec(select(CoProposer)).all():
        co_proposers[c.proposal_id].add(c.user_id)
    for v in votes:
        assert v.voter_id in members_of[v.committee_id]
        assert 1 <= v.review_round <= by_id[v.proposal_id].review_round
        assert v.voter_id != by_id[v.proposal_id].owner_id

    # No open round already holds the votes that would decide it.
    committees = {(c.kind, c.org_unit_id): c.id for c in db.exec(select(Committee)).all()}
    chairs = {m.committee_id: m.user_id for m in db.exec(select(CommitteeMember)).all() if m.is_chair}
    for p in proposals:
        if p.status in BODY_OF_REVIEW_STATE:
            body = BODY_OF_REVIEW_STATE[p.status]
            cid = committees[(body.value, p.org_unit_id if body is CommitteeKind.faculty_council else None)] or 0
            ballots = [
                Ballot(v.voter_id, Choice(v.choice))
                for v in votes
                if v.proposal_id == p.id and v.review_round == p.review_round
            ]
            eligible = members_of[cid] - {p.owner_id, *co_proposers[p.id or 0]}
            assert decide(policies.of(ApprovalPolicy).voting[body], ballots, eligible, chairs.get(cid)) is None, p.id

    # The transitions in the audit log lead to the stored status.
    last_state: dict[int, str] = {}
    for e in events:
        if e.to_state is not None:
            assert e.from_state is None or last_state.get(e.entity_id) == e.from_state, e
            last_state[e.entity_id] = e.to_state
    assert all(last_state[p.id or 0] == p.status for p in proposals)

    # The vote scenario's proposals: before the council, with only the bench member's vote this round.
    assert targets
    for pid in targets:
        p = by_id[pid]
        assert p.status == "faculty_council_review"
        this_round = [v for v in votes if v.proposal_id == pid and v.review_round == p.review_round]
        assert [v.voter_id for v in this_round] == [council_member_id]

    # The plain tokens match stored hashes.
    for role_tokens in tokens.values():
        for token in role_tokens:
            assert db.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).one()
