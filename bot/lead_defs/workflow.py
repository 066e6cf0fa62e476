"""Proposals as they travel through Slack: posting one to the alignment channel (and withdrawing it
when Slack refuses), recording votes and keeping the message current, announcing applied changes,
and file imports that become proposals (or an admin's recorded, announced override).

Transactions are short and never span a Slack call: the database is the record, the message its picture.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError

from bot.errors import InvalidInput
from bot.lead_defs import service as ld
from bot.render import lead_def as view

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.services import Services

log = logging.getLogger(__name__)

# What a failed Slack call raises: an API error, or the network under it.
SLACK_FAILURES = (SlackApiError, OSError)


def alignment_channel(services: Services) -> str:
    channel = services.settings.alignment_channel
    if not channel:
        raise InvalidInput(
            "Proposals go to the alignment channel, and none is set up yet: "
            "ask your admin to set REVALIGN_ALIGNMENT_CHANNEL."
        )
    return channel


def post_proposal(services: Services, client: WebClient, proposal: ld.ProposalView) -> bool:
    """Post a stored proposal with its Approve/Reject buttons; a proposal Slack refused is withdrawn."""
    try:
        posted = client.chat_postMessage(channel=alignment_channel(services), **view.proposal_message(proposal))
    except SLACK_FAILURES:
        log.warning("could not post proposal %s to the alignment channel", proposal.id, exc_info=True)
        with services.db.session() as session:
            ld.withdraw_unposted(session, proposal.id)
        return False
    with services.db.session() as session:
        ld.set_proposal_message(session, proposal.id, posted["channel"], posted["ts"])
    return True


def propose(
    services: Services,
    client: WebClient,
    user_id: str,
    draft: ld.Draft,
) -> ld.ProposalView | None:
    """Store a proposal from the form and post it; None when Slack refused it (nothing was proposed)."""
    alignment_channel(services)
    with services.db.session() as session:
        proposal = ld.propose(session, draft, user_id=user_id, now=services.now())
    return proposal if post_proposal(services, client, proposal) else None


def update_message(client: WebClient, proposal: ld.ProposalView) -> None:
    if not (proposal.channel and proposal.message_ts):
        return
    try:
        client.chat_update(channel=proposal.channel, ts=proposal.message_ts, **view.proposal_update(proposal))
    except SLACK_FAILURES:  # the vote is stored; the message is only its picture
        log.warning("could not update the message of proposal %s", proposal.id, exc_info=True)


def approve(services: Services, client: WebClient, proposal_id: str, user_id: str) -> ld.VoteResult:
    with services.db.session() as session:
        result = ld.approve(session, proposal_id, user_id, services.now())
    update_message(client, result.proposal)
    if result.applied:
        announce(services, client, result.proposal)
        for other in result.outdated:
            update_message(client, other)
    return result


def announce(services: Services, client: WebClient, proposal: ld.ProposalView) -> None:
    channel = proposal.channel or services.settings.alignment_channel
    if not channel:
        return
    with services.db.session() as session:
        definition = ld.get(session, proposal.key)
    try:
        client.chat_postMessage(channel=channel, **view.announcement(proposal, definition))
    except SLACK_FAILURES:  # the change is applied; the announcement is the picture of it
        log.warning("could not announce %s v%s", proposal.key, proposal.resulting_version, exc_info=True)


def reject(services: Services, client: WebClient, proposal_id: str, user_id: str, reason: str) -> ld.ProposalView:
    with services.db.session() as session:
        proposal = ld.reject(session, proposal_id, user_id, reason, services.now())
    update_message(client, proposal)
    if proposal.channel:
        try:
            client.chat_postMessage(
                channel=proposal.channel,
                thread_ts=proposal.message_ts,
                **view.rejection_notice(proposal, user_id, reason),
            )
        except SLACK_FAILURES:
            log.warning("could not tell the proposer about rejection %s", proposal.id, exc_info=True)
    return proposal


# --- file import --------------------------------------------------------------------------------
@dataclass
class ImportOutcome:
    report: ld.ImportReport
    posted: list[ld.ProposalView] = field(default_factory=list)
    not_posted: list[str] = field(default_factory=list)  # proposals Slack refused (withdrawn)
    announced: bool = False


def import_file(
    services: Services,
    client: WebClient | None,
    text: str,
    *,
    by: str = ld.IMPORT_PROPOSER,
    override_admin: str | None = None,
) -> ImportOutcome:
    """`revalign lead-def import`: no back door. Changes become proposals in the alignment channel;
    only an explicit admin override applies them at once, and that is recorded and announced."""
    with services.db.session() as session:
        report = ld.import_text(session, text, by=by, now=services.now(), override_admin=override_admin)
        if report.proposed or report.override_by:
            alignment_channel(services)  # both are announced there: refused (rolled back) without one
    outcome = ImportOutcome(report)
    if report.problems:
        return outcome
    for proposal in report.proposed:
        if client is not None and post_proposal(services, client, proposal):
            outcome.posted.append(proposal)
        else:
            if client is None:
                with services.db.session() as session:
                    ld.withdraw_unposted(session, proposal.id)
            outcome.not_posted.append(proposal.key)
    if report.override_by and (report.created or report.updated) and client is not None:
        with services.db.session() as session:
            applied = [ld.get(session, key) for key in report.updated + report.created]
        try:
            client.chat_postMessage(
                channel=alignment_channel(services), **view.override_announcement(report.override_by, applied)
            )
            outcome.announced = True
        except SLACK_FAILURES:
            log.warning("could not announce the admin override", exc_info=True)
    return outcome
