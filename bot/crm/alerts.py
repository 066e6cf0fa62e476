"""SLA-breach alerts, each posted exactly once, and a daily summary to the department heads.

A breach: a record entered a mapped stage, its SLA deadline has passed, and the CRM shows
no owner activity between entering and the deadline. Each alert has a key
("breach:hubspot:lead:123:MQL") that is UNIQUE in crm_alerts: a process claims it by
inserting the row ("sending") in its own transaction before talking to Slack, so two
processes or two runs never post it twice; a failed post is retried on a later run.
The alert goes to the owner's DM when the CRM owner's e-mail is a Slack user
(users.lookupByEmail, scope users:read.email), otherwise to the owning team's channel.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.crm import funnel
from bot.models.crm import CrmAlert, CrmRecord

log = logging.getLogger(__name__)

ALERT_WINDOW = timedelta(days=14)  # older breaches are history (the summary counts them), not alerts
MAX_ATTEMPTS = 5
MAX_SUMMARY_ITEMS = 10


@dataclass
class Breach:
    connector: str
    stage: str  # /lead-def key
    owner_team: str
    sla_text: str
    object_type: str
    external_id: str
    name: str  # untrusted CRM text: escaped when rendered
    owner_email: str
    url: str
    entered_at: datetime
    deadline: datetime

    @property
    def key(self) -> str:
        return f"breach:{self.connector}:{self.object_type}:{self.external_id}:{self.stage}"[:255]


@dataclass
class StageCompliance:
    stage: str
    due: int  # entries whose deadline has passed
    on_time: int

    @property
    def rate(self) -> float | None:
        return self.on_time / self.due if self.due else None


@dataclass
class AlertReport:
    breaches: list[Breach] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    already: int = 0
    unroutable: int = 0
    summaries: int = 0


def find_breaches(
    session: Session,
    connector: str,
    now: datetime,
    *,
    maps: list[funnel.StageMap] | None = None,
    window: timedelta = ALERT_WINDOW,
) -> tuple[list[Breach], list[StageCompliance]]:
    maps = funnel.stage_maps(session, connector) if maps is None else maps
    maps = [m for m in maps if m.sla is not None]
    entries = funnel.stage_entries(session, connector, maps, now - window, now)
    by_key = {m.key: m for m in maps}
    compliance = {m.key: StageCompliance(m.key, 0, 0) for m in maps}
    late = []
    for entry in entries:
        if entry.deadline is None or entry.deadline > now:
            continue
        compliance[entry.stage].due += 1
        if entry.within_sla():
            compliance[entry.stage].on_time += 1
        else:
            late.append(entry)
    records = {}
    ids = sorted({e.external_id for e in late})
    for start in range(0, len(ids), 500):
        for row in session.scalars(
            select(CrmRecord).where(
                CrmRecord.connector == connector, CrmRecord.external_id.in_(ids[start : start + 500])
            )
        ):
            records[(row.object_type, row.external_id)] = row
    breaches = []
    for entry in sorted(late, key=lambda e: e.entered_at):
        record = records.get((entry.object_type, entry.external_id))
        if record is None or entry.deadline is None:
            continue
        m = by_key[entry.stage]
        breaches.append(
            Breach(
                connector,
                m.key,
                m.owner,
                m.sla_text,
                entry.object_type,
                entry.external_id,
                record.name or record.email or entry.external_id,
                record.owner_email,
                record.url,
                entry.entered_at,
                entry.deadline,
            )
        )
    return breaches, list(compliance.values())


# --- claiming -------------------------------------------------------------------------------------
def claim(db, key: str, kind: str, recipient: str, now: datetime) -> int | None:
    """The alert's row id if this process may send it now (new, or failed and due for a retry)."""
    try:
        with db.session() as session:
            row = CrmAlert(
                alert_key=key, kind=kind, recipient=recipient, status="sending", attempts=1, created_at=now, due_at=now
            )
            session.add(row)
            session.flush()
            return row.id
    except IntegrityError:
        pass
    with db.session() as session:
        row = session.scalars(select(CrmAlert).where(CrmAlert.alert_key == key)).one_or_none()
        if row is None or row.status != "failed" or row.attempts >= MAX_ATTEMPTS:
            return None
        result = session.execute(
            update(CrmAlert)
            .where(CrmAlert.id == row.id, CrmAlert.status == "failed", CrmAlert.attempts == row.attempts)
            .values(status="sending", attempts=row.attempts + 1, recipient=recipient)
        )
        return row.id if result.rowcount == 1 else None


def finish(db, alert_id: int, now: datetime, *, ts: str | None = None, error: str | None = None) -> None:
    with db.session() as session:
        row = session.get(CrmAlert, alert_id)
        if error is None:
            row.status, row.sent_at, row.message_ts, row.last_error = "sent", now, ts, None
        else:
            row.status, row.last_error = "failed", error[:500]


# --- routing and posting -----------------------------------------------------------------------------
class Router:
    """Owner e-mail → Slack user (looked up once per run), else the owning team's channel."""

    def __init__(self, client, settings) -> None:
        self.client = client
        self.settings = settings
        self._users: dict[str, str | None] = {}

    def user_for(self, email: str) -> str | None:
        if not email:
            return None
        if email not in self._users:
            from slack_sdk.errors import SlackApiError

            try:
                found = self.client.users_lookupByEmail(email=email).get("user") or {}
                self._users[email] = found.get("id") or None
            except SlackApiError as exc:
                error = exc.response.get("error") if exc.response is not None else ""
                if error not in ("users_not_found", "missing_scope", "account_inactive"):
                    raise
                self._users[email] = None
        return self._users[email]

    def channel_for(self, team: str) -> str | None:
        s = self.settings
        if team == "sales":
            return s.sales_channel or s.alignment_channel
        if team == "marketing":
            return s.marketing_alerts_channel or s.alignment_channel
        return s.alignment_channel

    def recipient(self, breach: Breach) -> str | None:
        return self.user_for(breach.owner_email) or self.channel_for(breach.owner_team)


def post_breaches(
    services, connector: str, *, client=None, now: datetime | None = None, summary: bool = True
) -> AlertReport:
    from slack_sdk.errors import SlackApiError

    from bot.render import crm as render

    client = client or services.slack
    now = now or services.now()
    with services.db.session() as session:
        breaches, compliance = find_breaches(session, connector, now)
    report = AlertReport(breaches=breaches)
    router = Router(client, services.settings)
    for breach in breaches:
        try:
            recipient = router.recipient(breach)
        except SlackApiError as exc:
            report.failed.append(f"{breach.key}: {exc.response.get('error', 'slack error')}")
            continue
        if recipient is None:
            report.unroutable += 1
            continue
        alert_id = claim(services.db, breach.key, "breach", recipient, now)
        if alert_id is None:
            report.already += 1
            continue
        text, blocks = render.breach_message(breach, services.settings.timezone)
        try:
            response = client.chat_postMessage(
                channel=recipient, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
            )
        except Exception as exc:  # noqa: BLE001 - SlackApiError or a connection error: retry on a later run
            finish(services.db, alert_id, now, error=f"{type(exc).__name__}: {str(exc)[:200]}")
            report.failed.append(breach.key)
            continue
        finish(services.db, alert_id, now, ts=response.get("ts"))
        report.sent.append(breach.key)
    if summary:
        report.summaries = post_summary(services, client, connector, breaches, compliance, now)
    return report


def post_summary(
    services, client, connector: str, breaches: list[Breach], compliance: list[StageCompliance], now: datetime
) -> int:
    """Once a day, to each sales and marketing head (DM)."""
    from zoneinfo import ZoneInfo

    from bot import roles
    from bot.models import Role
    from bot.render import crm as render

    day = now.astimezone(ZoneInfo(services.settings.timezone)).date().isoformat()
    with services.db.session() as session:
        heads = sorted(
            set(roles.users_with_role(session, Role.sales_head) + roles.users_with_role(session, Role.marketing_head))
        )
    sent = 0
    yesterday = [b for b in breaches if b.deadline > now - timedelta(days=1)]
    text, blocks = render.summary_message(connector, day, yesterday, breaches, compliance)
    for head in heads:
        alert_id = claim(services.db, f"summary:{connector}:{day}:{head}", "summary", head, now)
        if alert_id is None:
            continue
        try:
            channel = client.conversations_open(users=head)["channel"]["id"]
            response = client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        except Exception as exc:  # noqa: BLE001
            finish(services.db, alert_id, now, error=f"{type(exc).__name__}: {str(exc)[:200]}")
            continue
        finish(services.db, alert_id, now, ts=response.get("ts"))
        sent += 1
    return sent
