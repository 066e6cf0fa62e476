"""Salesforce through `simple-salesforce`: SOAP login with username + password + security token
(the client's own `SalesforceLogin`), or an OAuth refresh token of a connected app.

Records come from SOQL over the REST API, oldest change first (LastModifiedDate ≥ the
cursor), page after page through `nextRecordsUrl`. An expired session logs in again once
and repeats the call; 5xx are retried with backoff; REQUEST_LIMIT_EXCEEDED — or fewer than
API_HEADROOM of the day's API calls left (the Sforce-Limit-Info header) — stops the sync,
which resumes from its cursor next time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypedDict

from bot.crm.records import DEAL, LEAD, CheckResult, CrmError, Page, RateLimited, Record, build_record, parse_time

log = logging.getLogger(__name__)

API_VERSION = "59.0"
API_HEADROOM = 0.05  # stop when less than 5% of the daily API allowance is left
SERVER_RETRIES = 3
FIELDS = {
    LEAD: "Id, FirstName, LastName, Email, Status, OwnerId, Owner.Email, CreatedDate, LastModifiedDate, "
    "IsConverted, ConvertedDate, LastActivityDate",
    DEAL: "Id, Name, StageName, Amount, OwnerId, Owner.Email, CreatedDate, CloseDate, IsClosed, IsWon, "
    "LastModifiedDate",
}
SOBJECT = {LEAD: "Lead", DEAL: "Opportunity"}


def soql_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SoapLogin(TypedDict):
    username: str | None
    password: str | None
    security_token: str | None


@dataclass(frozen=True)
class Credentials:
    """Where to log in, and either the SOAP login (username, password, security token) or a connected
    app's refresh token; each field is the setting SALESFORCE_<FIELD>."""

    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    domain: str = "login"
    login_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = None

    @property
    def soap_login(self) -> SoapLogin:
        """SalesforceLogin's credential arguments (all three needed without a refresh token)."""
        return {"username": self.username, "password": self.password, "security_token": self.security_token}

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


class SalesforceConnector:
    name = "salesforce"

    def __init__(self, credentials: Credentials, *, retry_pause: float = 0.5) -> None:
        import requests

        c = self._credentials = credentials
        if not c.refresh_token and not all(c.soap_login.values()):
            raise CrmError(
                "Salesforce needs SALESFORCE_USERNAME, SALESFORCE_PASSWORD and SALESFORCE_SECURITY_TOKEN, "
                "or SALESFORCE_CLIENT_ID and SALESFORCE_REFRESH_TOKEN."
            )
        self.domain = c.domain
        self.login_url = (c.login_url or f"https://{c.domain}.salesforce.com").rstrip("/")
        self._login_override = c.login_url
        self.session = requests.Session()
        self.retry_pause = retry_pause
        self.sf: Any = None
        self.instance_url = ""
        self.logins = 0

    # --- authentication ------------------------------------------------------------------------
    def login(self) -> None:
        from simple_salesforce import Salesforce
        from simple_salesforce.exceptions import SalesforceAuthenticationFailed
        from simple_salesforce.login import SalesforceLogin

        c = self._credentials
        self.logins += 1
        if c.refresh_token:
            session_id, instance_url = self._refresh()
        else:
            try:
                session_id, instance = SalesforceLogin(
                    **c.soap_login,
                    domain=self.domain,
                    session=self.session,
                    sf_version=API_VERSION,
                    scratch_url=self._login_override,
                )
            except SalesforceAuthenticationFailed as exc:
                raise CrmError(
                    f"Salesforce login failed ({getattr(exc, 'code', 'INVALID_LOGIN')}): check "
                    "SALESFORCE_USERNAME, SALESFORCE_PASSWORD and SALESFORCE_SECURITY_TOKEN."
                ) from None
            except Exception as exc:  # noqa: BLE001 - connection problems of any kind
                raise CrmError(f"Salesforce could not be reached: {type(exc).__name__}") from None
            instance_url = f"https://{instance}"
        self.instance_url = instance_url.rstrip("/")
        self.sf = Salesforce(
            session_id=session_id, instance_url=self.instance_url, session=self.session, version=API_VERSION
        )

    def _refresh(self) -> tuple[str, str]:
        c = self._credentials
        data = {"grant_type": "refresh_token", "client_id": c.client_id or "", "refresh_token": c.refresh_token}
        if c.client_secret:
            data["client_secret"] = c.client_secret
        try:
            response = self.session.post(f"{self.login_url}/services/oauth2/token", data=data, timeout=30)
        except Exception as exc:  # noqa: BLE001
            raise CrmError(f"Salesforce could not be reached: {type(exc).__name__}") from None
        if response.status_code != 200:
            try:
                error = response.json().get("error", response.status_code)
            except ValueError:
                error = response.status_code
            raise CrmError(
                f"Salesforce refused the refresh token ({error}): check SALESFORCE_CLIENT_ID, "
                "SALESFORCE_CLIENT_SECRET and SALESFORCE_REFRESH_TOKEN."
            )
        body = response.json()
        return body["access_token"], body["instance_url"]

    # --- calls -----------------------------------------------------------------------------------
    def _call(self, name: str, *args, **kwargs):
        from simple_salesforce.exceptions import (
            SalesforceError,
            SalesforceExpiredSession,
            SalesforceRefusedRequest,
        )

        if self.sf is None:
            self.login()
        relogged = False
        attempt = 0
        while True:
            try:
                result = getattr(self.sf, name)(*args, **kwargs)
            except SalesforceExpiredSession:
                if relogged:
                    raise CrmError("Salesforce keeps rejecting the session after a fresh login.") from None
                log.info("Salesforce session expired: logging in again")
                relogged = True
                self.login()
                continue
            except SalesforceRefusedRequest as exc:
                if "REQUEST_LIMIT_EXCEEDED" in str(getattr(exc, "content", "")):
                    raise RateLimited(
                        "Salesforce's API request limit is used up (REQUEST_LIMIT_EXCEEDED); "
                        "the sync resumes from where it stopped."
                    ) from None
                raise CrmError(
                    "Salesforce refused the request (403): the integration user needs "
                    "'API Enabled' and read access to Leads and Opportunities."
                ) from None
            except SalesforceError as exc:
                status = getattr(exc, "status", 0) or 0
                if status >= 500 and attempt < SERVER_RETRIES:
                    attempt += 1
                    time.sleep(self.retry_pause * 2 ** (attempt - 1))
                    continue
                raise CrmError(f"Salesforce answered {status}.") from None
            except CrmError:
                raise
            except Exception as exc:  # noqa: BLE001 - connection errors
                if attempt < SERVER_RETRIES:
                    attempt += 1
                    time.sleep(self.retry_pause * 2 ** (attempt - 1))
                    continue
                raise CrmError(f"Salesforce could not be reached: {type(exc).__name__}") from None
            self._check_headroom()
            return result

    def usage(self) -> tuple[int, int] | None:
        usage = (self.sf.api_usage or {}).get("api-usage") if self.sf else None
        return (usage.used, usage.total) if usage else None

    def _check_headroom(self) -> None:
        usage = self.usage()
        if usage and usage[1] and usage[1] - usage[0] < usage[1] * API_HEADROOM:
            raise RateLimited(
                f"Salesforce API allowance nearly used ({usage[0]:,} of {usage[1]:,} calls today); "
                "the sync stopped to leave room for other integrations and resumes later."
            )

    # --- check ---------------------------------------------------------------------------------------
    def check(self) -> CheckResult:
        counts = {}
        for object_type, label in ((LEAD, "leads"), (DEAL, "opportunities")):
            counts[label] = self._call("query", f"SELECT COUNT() FROM {SOBJECT[object_type]}")["totalSize"]
        limits = self._call("limits")
        daily = limits.get("DailyApiRequests") or {}
        usage = (
            f"{daily.get('Max', 0) - daily.get('Remaining', 0):,} of {daily.get('Max', 0):,} API calls used today"
            if daily
            else ""
        )
        return CheckResult(account=f"Salesforce {self.instance_url}", counts=counts, api_usage=usage)

    # --- pulling ---------------------------------------------------------------------------------------
    def pages(self, object_type: str, since: datetime | None) -> Iterator[Page]:
        where = f" WHERE LastModifiedDate >= {soql_time(since)}" if since else ""
        soql = f"SELECT {FIELDS[object_type]} FROM {SOBJECT[object_type]}{where} ORDER BY LastModifiedDate ASC, Id ASC"
        result = self._call("query", soql)
        while True:
            yield Page([self._record(object_type, r) for r in result.get("records", [])], result.get("totalSize"))
            next_url = result.get("nextRecordsUrl")
            if result.get("done", True) or not next_url:
                return
            result = self._call("query_more", next_url, identifier_is_url=True)

    def _record(self, object_type: str, r: dict) -> Record:
        owner = r.get("Owner") or {}
        sobject = SOBJECT[object_type]
        build = partial(
            build_record,
            object_type,
            str(r["Id"]),
            created=(r.get("CreatedDate"),),
            modified=(r.get("LastModifiedDate"),),
            owner_id=str(r.get("OwnerId") or ""),
            owner_email=owner.get("Email") if isinstance(owner, dict) else "",
            url=f"{self.instance_url}/lightning/r/{sobject}/{r.get('Id')}/view" if self.instance_url else "",
        )
        if object_type == LEAD:
            record = build(
                name=f"{r.get('FirstName') or ''} {r.get('LastName') or ''}",
                email=r.get("Email"),
                stage=r.get("Status"),
                last_activity=r.get("LastActivityDate"),
            )
        else:
            record = build(
                name=r.get("Name"),
                stage=r.get("StageName"),
                amount=r.get("Amount"),
                close_date=r.get("CloseDate"),
                is_won=bool(r.get("IsWon")),
                is_closed=bool(r.get("IsClosed")),
            )
        # Salesforce keeps no entry date for a status without field history: a new record's status
        # entered at creation, a changed one when it was last modified (first seen by a sync wins).
        created_at, modified_at = record.created_at, record.modified_at
        entered = created_at if created_at and created_at == modified_at else modified_at
        kind = "status" if object_type == LEAD else "stage"  # a lead's Status, an opportunity's StageName
        if record.stage:
            record.events.append((f"{kind}:{record.stage}", entered))
        if object_type == LEAD and r.get("IsConverted") and (converted := parse_time(r.get("ConvertedDate"))):
            record.events.append(("status:converted", converted))
        return record
