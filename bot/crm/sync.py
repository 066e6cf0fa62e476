"""`revalign crm sync` and the daily scheduled sync: pull changed records page by page
(each page stored with the cursor in one transaction, so a stopped sync resumes where it
was), then recompute the touched weeks' KPIs and store them with their source."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import SecretStr

from bot.crm import funnel, store
from bot.crm.kpi_values import WriteReport, write_synced
from bot.crm.records import DEAL, LABELS, LEAD, OBJECT_TYPES, CrmError, RateLimited
from bot.errors import ConfigError
from bot.kpis import periods

log = logging.getLogger(__name__)

KPI_WEEKS_BACK = 52  # a first sync of years of history fills at most a year of weekly KPIs
OBJECT_LABELS = {"hubspot": {LEAD: "contacts", DEAL: "deals"}, "salesforce": {LEAD: "leads", DEAL: "opportunities"}}

Progress = Callable[[str, int, int | None], None]  # (object label, records in this page, total or None)


def make_connector(settings):
    """The connector REVALIGN_CRM names, with its credentials from the settings."""
    name = settings.crm
    if name is None:
        raise ConfigError("REVALIGN_CRM is not set: expected 'hubspot' or 'salesforce'.")
    if name == "hubspot":
        from bot.crm.hubspot import HubSpotConnector

        return HubSpotConnector(
            settings.secret("HUBSPOT_ACCESS_TOKEN"),
            base_url=settings.hubspot_api_url,
            portal_id=settings.hubspot_portal_id,
        )
    from bot.crm.salesforce import Credentials, SalesforceConnector

    def setting(name: str) -> str | None:
        value = getattr(settings, f"salesforce_{name}")
        return value.get_secret_value() if isinstance(value, SecretStr) else value

    try:
        return SalesforceConnector(Credentials(**{name: setting(name) for name in Credentials.names()}))
    except CrmError as exc:
        raise ConfigError(str(exc)) from None


@dataclass
class SyncReport:
    connector: str
    dry_run: bool
    started_at: datetime
    since: dict[str, datetime | None] = field(default_factory=dict)
    pulled: dict[str, int] = field(default_factory=dict)  # object label → records
    stopped: str = ""  # why it stopped early (rate limit)
    maps: list[funnel.StageMap] = field(default_factory=list)
    weeks: dict[str, funnel.WeekNumbers] = field(default_factory=dict)
    kpis: WriteReport | None = None
    finished_at: datetime | None = None

    @property
    def label(self) -> str:
        return LABELS[self.connector]

    @property
    def records(self) -> int:
        return sum(self.pulled.values())

    def summary(self) -> str:
        pulled = ", ".join(f"{n:,} {label}" for label, n in self.pulled.items()) or "nothing"
        kpis = (
            (
                f"; {self.kpis.stored} KPI values new, {self.kpis.updated} updated, "
                f"{len(self.kpis.overridden)} typed values overridden"
            )
            if self.kpis
            else ""
        )
        return f"{self.label}: pulled {pulled}{kpis}" + (f"; stopped early: {self.stopped}" if self.stopped else "")


def run_sync(
    services, *, connector=None, since: datetime | None = None, dry_run: bool = False, progress: Progress | None = None
) -> SyncReport:
    """Pull, store and compute. Raises CrmError when the CRM refuses (nothing of that page is kept)."""
    connector = connector or make_connector(services.settings)
    tz = services.settings.timezone
    now = services.now()
    report = SyncReport(connector.name, dry_run, now)
    touched: set[str] = set()
    oldest_period = periods.previous_period(periods.current_period(now, tz), KPI_WEEKS_BACK)
    with services.db.session(commit=not dry_run) as session:
        for object_type in OBJECT_TYPES:
            label = OBJECT_LABELS[connector.name][object_type]
            cursor = since if since is not None else store.get_cursor(session, connector.name, object_type)
            report.since[label] = cursor
            report.pulled[label] = 0
            try:
                for page in connector.pages(object_type, cursor):
                    if page.records:
                        store.store_page(session, connector.name, page.records, services.now())
                        for record in page.records:
                            for moment in [at for _, at in record.events] + [record.created_at, record.closed_at]:
                                if moment is not None:
                                    touched.add(periods.current_period(moment, tz))
                        newest = max(r.modified_at for r in page.records if r.modified_at)
                        if dry_run:
                            session.flush()
                        else:
                            store.set_cursor(session, connector.name, object_type, newest, services.now())
                            session.commit()
                    report.pulled[label] += len(page.records)
                    if progress:
                        progress(label, len(page.records), page.total)
            except RateLimited as exc:
                report.stopped = str(exc)
                log.warning("CRM sync stopped early: %s", exc)
                break
        report.maps = funnel.stage_maps(session, connector.name)
        wanted = sorted(p for p in touched if oldest_period <= p <= periods.current_period(now, tz))
        report.weeks = funnel.week_numbers(session, connector.name, wanted, tz=tz, maps=report.maps)
        values = {(key, p): value for p, numbers in report.weeks.items() for key, value in numbers.metrics.items()}
        report.kpis = write_synced(session, values, connector=connector.name, now=services.now())
    report.finished_at = services.now()
    return report


def sync_window_start(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)
