"""HubSpot through `hubspot-api-client` (a private-app token; scopes crm.objects.contacts.read,
crm.objects.deals.read, crm.objects.owners.read).

Records come from the CRM v3 search endpoints, oldest change first (`lastmodifieddate` /
`hs_lastmodifieddate` ≥ the cursor), 100 a page through `paging.next.after`. A search
stops at 10,000 results, so after 9,900 the query restarts from the last modified time
seen. 429s (with Retry-After) and 5xx are retried by the client's own urllib3 Retry.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import partial

from bot.crm.records import DEAL, LEAD, CheckResult, CrmError, Page, RateLimited, Record, build_record, parse_time

log = logging.getLogger(__name__)

PAGE_SIZE = 200  # the search endpoints' maximum
SEARCH_WINDOW = 10_000  # HubSpot's cap on one search's results
LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
CONTACT_PROPERTIES = [
    "firstname",
    "lastname",
    "email",
    "lifecyclestage",
    "hs_lead_status",
    "hubspot_owner_id",
    "createdate",
    "lastmodifieddate",
    "hs_sa_first_engagement_date",
    "notes_last_contacted",
    *(f"hs_lifecyclestage_{s}_date" for s in LIFECYCLE_STAGES),
]
DEAL_PROPERTIES = [
    "dealname",
    "amount",
    "dealstage",
    "pipeline",
    "hubspot_owner_id",
    "createdate",
    "closedate",
    "hs_lastmodifieddate",
    "hs_is_closed_won",
    "hs_is_closed",
]
MODIFIED = {LEAD: "lastmodifieddate", DEAL: "hs_lastmodifieddate"}


def make_retry(total: int = 6):
    from urllib3.util.retry import Retry

    # Search is a POST: it only reads, so retrying it is safe.
    return Retry(
        total=total,
        backoff_factor=0.5,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "POST"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


class HubSpotConnector:
    name = "hubspot"

    def __init__(
        self,
        access_token: str,
        *,
        base_url: str = "https://api.hubapi.com",
        portal_id: str | None = None,
        retry_total: int = 6,
    ) -> None:
        from hubspot import HubSpot

        self.client = HubSpot(access_token=access_token, host=base_url.rstrip("/"), retry=make_retry(retry_total))
        self.portal_id = portal_id
        self._owners: dict[str, str] | None = None

    # --- errors ----------------------------------------------------------------------------
    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every API package has its own ApiException class
            status = getattr(exc, "status", None)
            if not status:  # None, or 0 for a connection error inside the client
                raise CrmError(f"HubSpot could not be reached: {type(exc).__name__}") from None
            if status == 401:
                raise CrmError(
                    "HubSpot rejected the access token (401): check HUBSPOT_ACCESS_TOKEN "
                    "(a private-app token) and that the app is still installed."
                ) from None
            if status == 403:
                raise CrmError(
                    "HubSpot refused access (403): the private app needs the scopes "
                    "crm.objects.contacts.read, crm.objects.deals.read and crm.objects.owners.read."
                ) from None
            if status == 429:
                raise RateLimited(
                    "HubSpot's rate limit is used up (429 after retries); the sync will resume."
                ) from None
            raise CrmError(f"HubSpot answered {status} {getattr(exc, 'reason', '')}".strip()) from None

    # --- owners (for DMs by e-mail) ------------------------------------------------------------
    def owners(self) -> dict[str, str]:
        if self._owners is None:
            owners: dict[str, str] = {}
            after = None
            while True:
                page = self._call(
                    self.client.crm.owners.owners_api.get_page, limit=100, **({"after": after} if after else {})
                )
                for owner in page.results or []:
                    if owner.email:
                        owners[str(owner.id)] = owner.email
                after = page.paging.next.after if page.paging and page.paging.next else None
                if not after:
                    break
            self._owners = owners
        return self._owners

    # --- check ---------------------------------------------------------------------------------
    def check(self) -> CheckResult:
        counts = {}
        for object_type in (LEAD, DEAL):
            page = self._search(object_type, None, None, limit=1)
            counts[object_type] = int(page.get("total") or 0)
        owners = self.owners()
        return CheckResult(
            account=f"HubSpot portal {self.portal_id}" if self.portal_id else "HubSpot",
            counts={"contacts": counts[LEAD], "deals": counts[DEAL], "owners": len(owners)},
        )

    # --- pulling ---------------------------------------------------------------------------------
    def _search(self, object_type: str, since: datetime | None, after: str | None, limit: int = PAGE_SIZE):
        from hubspot.crm.contacts import PublicObjectSearchRequest as ContactSearch
        from hubspot.crm.deals import PublicObjectSearchRequest as DealSearch

        modified = MODIFIED[object_type]
        filters = (
            [{"filters": [{"propertyName": modified, "operator": "GTE", "value": str(int(since.timestamp() * 1000))}]}]
            if since
            else []
        )
        request_class, api = (
            (ContactSearch, self.client.crm.contacts.search_api)
            if object_type == LEAD
            else (DealSearch, self.client.crm.deals.search_api)
        )
        request = request_class(
            filter_groups=filters,
            sorts=[{"propertyName": modified, "direction": "ASCENDING"}],
            properties=CONTACT_PROPERTIES if object_type == LEAD else DEAL_PROPERTIES,
            limit=limit,
            after=after,
        )
        # The client sends, authenticates and retries; its per-object model deserialization (dateutil
        # on every timestamp) costs ~5× the whole rest of the sync, so the page's JSON is read as is.
        response = self._call(api.do_search, public_object_search_request=request, _preload_content=False)
        try:
            return json.loads(response.data)
        finally:
            response.release_conn()

    def pages(self, object_type: str, since: datetime | None) -> Iterator[Page]:
        try:
            owners = self.owners()
        except RateLimited:
            raise
        except CrmError as exc:  # no owners scope: alerts go to team channels instead of owners' DMs
            log.warning("HubSpot owners unavailable (%s); SLA alerts will go to team channels", exc)
            owners = self._owners = {}
        total: int | None = None
        window_start = since
        after: str | None = None
        seen_in_window = 0
        while True:
            response = self._search(object_type, window_start, after)
            if total is None:
                total = response.get("total")
            results = response.get("results") or []
            records = [self._record(object_type, obj, owners) for obj in results]
            yield Page(records, total)
            seen_in_window += len(results)
            after = ((response.get("paging") or {}).get("next") or {}).get("after")
            if not after or not results:
                return
            if seen_in_window + PAGE_SIZE > SEARCH_WINDOW:
                # Start a new search from the last change seen (≥: the boundary records come again, harmlessly).
                newest = records[-1].modified_at
                if window_start is not None and newest <= window_start:
                    # 10,000 records changed in the same millisecond: a search cannot page past them,
                    # so step over that millisecond rather than loop (logged; a --since re-read finds them).
                    log.warning(
                        "HubSpot: more than %d %s records share one modified time; skipping ahead",
                        SEARCH_WINDOW,
                        object_type,
                    )
                    newest = window_start + timedelta(milliseconds=1)
                window_start, after, seen_in_window = newest, None, 0

    def _record(self, object_type: str, obj: dict, owners: dict[str, str]) -> Record:
        p = obj.get("properties") or {}
        object_id = str(obj["id"])
        owner_id = str(p.get("hubspot_owner_id") or "")
        build = partial(
            build_record,
            object_type,
            object_id,
            created=(p.get("createdate"), obj.get("createdAt")),
            modified=(p.get(MODIFIED[object_type]), obj.get("updatedAt")),
            owner_id=owner_id,
            owner_email=owners.get(owner_id, ""),
        )
        if object_type == LEAD:
            full_name = f"{p.get('firstname') or ''} {p.get('lastname') or ''}"
            record = build(
                name=full_name if full_name.split() else p.get("email"),  # a contact with no name: its e-mail
                email=p.get("email"),
                stage=p.get("lifecyclestage"),
                status=p.get("hs_lead_status"),
                first_activity=p.get("hs_sa_first_engagement_date"),
                last_activity=p.get("notes_last_contacted"),
                url=self._url("0-1", object_id),
            )
            for stage in LIFECYCLE_STAGES:
                entered = parse_time(p.get(f"hs_lifecyclestage_{stage}_date"))
                if entered:
                    record.events.append((f"lifecyclestage:{stage}", entered))
            current = f"lifecyclestage:{record.stage}"
            if record.stage and not any(e[0] == current for e in record.events):
                record.events.append((current, record.modified_at))
            if record.status:  # HubSpot keeps no entry date for lead status: first seen by a sync
                record.events.append((f"status:{record.status}", record.modified_at))
            return record
        won = str(p.get("hs_is_closed_won") or "").lower() == "true"
        record = build(
            name=p.get("dealname"),
            stage=p.get("dealstage"),
            amount=p.get("amount"),
            close_date=p.get("closedate"),
            is_won=won,
            is_closed=won or str(p.get("hs_is_closed") or "").lower() == "true",
            url=self._url("0-3", object_id),
        )
        if record.stage:
            record.events.append((f"stage:{record.stage}", record.modified_at))
        return record

    def _url(self, type_id: str, object_id) -> str:
        if not self.portal_id:
            return ""
        return f"https://app.hubspot.com/contacts/{self.portal_id}/record/{type_id}/{object_id}"
