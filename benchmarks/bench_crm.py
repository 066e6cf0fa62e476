"""Time a full CRM sync of 100k contacts/leads and 20k deals/opportunities against the local fakes.

    python benchmarks/bench_crm.py [--leads 100000] [--deals 20000] [--crm hubspot salesforce] [--database URL]

The fake API (tests/fake_crm.py) runs in a child process, so the peak RSS measured is the
sync's own (the real client, storage, KPI computation). The same run also pages through
the same endpoints with plain `requests` and no storage: the floor set by HTTP and JSON.
Prints one Markdown table row per CRM.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

NOW = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)


def _fill(kind: str, fake, leads: int, deals: int) -> None:
    from tests.fake_crm import ms, sf_time

    rng = random.Random(15)
    start = NOW - dt.timedelta(weeks=12)
    span = int((NOW - start).total_seconds())
    for i in range(leads):
        created = start + dt.timedelta(seconds=rng.randrange(span))
        mql = created + dt.timedelta(hours=rng.randrange(1, 96)) if rng.random() < 0.4 else None
        sql = mql + dt.timedelta(days=rng.randrange(1, 10)) if mql and rng.random() < 0.35 else None
        touched = (mql or created) + dt.timedelta(hours=rng.randrange(1, 60)) if rng.random() < 0.8 else None
        modified = max(t for t in (created, mql, sql, touched) if t)
        modified = modified if modified < NOW else NOW - dt.timedelta(seconds=rng.randrange(1, 86400))
        if kind == "hubspot":
            props = {"firstname": f"First{i}", "lastname": f"Last{i}", "email": f"p{i}@prospect.example",
                     "lifecyclestage": "salesqualifiedlead" if sql else "marketingqualifiedlead" if mql else "lead",
                     "hs_lifecyclestage_lead_date": ms(created), "hubspot_owner_id": str(100 + i % 40),
                     "hs_lifecyclestage_marketingqualifiedlead_date": ms(mql) if mql else None,
                     "hs_lifecyclestage_salesqualifiedlead_date": ms(sql) if sql else None,
                     "notes_last_contacted": ms(touched) if touched else None}
            fake.add("contacts", str(i + 1), props, created, modified)
        else:
            fake.add("Lead", {"Id": f"00Q{i:015d}", "FirstName": f"First{i}", "LastName": f"Last{i}",
                              "Email": f"p{i}@prospect.example",
                              "Status": "Qualified" if sql else "Working - Contacted" if mql else "Open - Not Contacted",
                              "OwnerId": f"005{i % 40:015d}", "Owner": {"Email": f"rep{i % 40}@acme.example"},
                              "CreatedDate": sf_time(created), "LastModifiedDate": sf_time(modified),
                              "IsConverted": False, "ConvertedDate": None,
                              "LastActivityDate": touched.date().isoformat() if touched else None})
    if kind == "hubspot":
        for n in range(40):
            fake.add_owner(str(100 + n), f"rep{n}@acme.example")
    for i in range(deals):
        created = start + dt.timedelta(seconds=rng.randrange(span))
        closed = created + dt.timedelta(days=rng.randrange(5, 90))
        is_closed = closed < NOW and rng.random() < 0.6
        won = is_closed and rng.random() < 0.35
        amount = rng.randrange(2, 120) * 1000
        modified = closed if is_closed else created + dt.timedelta(hours=1)
        modified = modified if modified < NOW else NOW - dt.timedelta(seconds=rng.randrange(1, 86400))
        if kind == "hubspot":
            fake.add("deals", str(500000 + i), {
                "dealname": f"Deal {i}", "amount": str(amount), "pipeline": "default",
                "dealstage": "closedwon" if won else "closedlost" if is_closed else "qualifiedtobuy",
                "closedate": ms(closed), "hs_is_closed_won": str(won).lower(), "hs_is_closed": str(is_closed).lower(),
                "hubspot_owner_id": str(100 + i % 40)}, created, modified)
        else:
            fake.add("Opportunity", {"Id": f"006{i:015d}", "Name": f"Deal {i}",
                                     "StageName": "Closed Won" if won else "Closed Lost" if is_closed else "Prospecting",
                                     "Amount": amount, "OwnerId": f"005{i % 40:015d}",
                                     "Owner": {"Email": f"rep{i % 40}@acme.example"}, "CreatedDate": sf_time(created),
                                     "CloseDate": closed.date().isoformat(), "IsClosed": is_closed, "IsWon": won,
                                     "LastModifiedDate": sf_time(modified)})


def _serve(kind: str, leads: int, deals: int, urls, stop) -> None:
    from tests.fake_crm import FakeHubSpot, FakeSalesforce

    fake = FakeHubSpot() if kind == "hubspot" else FakeSalesforce()
    _fill(kind, fake, leads, deals)
    with fake:
        urls.put((fake.url, getattr(fake, "ca_file", None)))
        stop.wait()


def _baseline(kind: str, url: str) -> tuple[float, int]:
    """Page through the same endpoints with plain requests, no client, no storage."""
    import requests

    from tests import fake_crm

    session = requests.Session()
    start, count = time.perf_counter(), 0
    if kind == "hubspot":
        headers = {"Authorization": f"Bearer {fake_crm.HUBSPOT_TOKEN}"}
        for kind_path, modified in (("contacts", "lastmodifieddate"), ("deals", "hs_lastmodifieddate")):
            since, after = None, 0
            while True:
                body = {"limit": 200, "after": str(after), "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
                        "filterGroups": [{"filters": [{"propertyName": modified, "operator": "GTE", "value": since}]}]
                        if since else []}
                page = session.post(f"{url}/crm/v3/objects/{kind_path}/search", json=body, headers=headers).json()
                count += len(page["results"])
                nxt = page.get("paging", {}).get("next", {}).get("after")
                if not nxt:
                    break
                after = int(nxt)
                if after + 200 > fake_crm.HS_SEARCH_CAP:
                    since, after = page["results"][-1]["properties"][modified], 0
                    since = str(int(dt.datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp() * 1000))
    else:
        login = session.post(f"{url}/services/oauth2/token", data={
            "grant_type": "refresh_token", "client_id": fake_crm.SF_CLIENT_ID, "refresh_token": fake_crm.SF_REFRESH_TOKEN})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for sobject in ("Lead", "Opportunity"):
            page = session.get(f"{url}/services/data/v59.0/query/", params={"q": f"SELECT Id FROM {sobject}"},
                               headers=headers).json()
            count += len(page["records"])
            while page.get("nextRecordsUrl"):
                page = session.get(url + page["nextRecordsUrl"], headers=headers).json()
                count += len(page["records"])
    return time.perf_counter() - start, count


def _map_stages(services) -> None:
    from bot.lead_defs import service
    from tests.fake_crm import with_stage_mapping

    mapping = {
        "MQL": {"hubspot": ["marketingqualifiedlead"], "salesforce": ["Working - Contacted"]},
        "SQL": {"hubspot": ["salesqualifiedlead"], "salesforce": ["Qualified"]},
    }
    with services.db.session() as session:
        service.seed_defaults(session, NOW)
        service.import_text(session, with_stage_mapping(service.export_text(session), mapping), by="bench", now=NOW)


def run(kind: str, leads: int, deals: int, database: str | None, workdir: Path) -> str:
    from bot import migrate
    from bot.clock import FrozenClock
    from bot.crm.sync import run_sync
    from bot.services import Services
    from bot.settings import load_settings
    from tests import fake_crm

    context = multiprocessing.get_context("fork")
    urls, stop = context.Queue(), context.Event()
    server = context.Process(target=_serve, args=(kind, leads, deals, urls, stop), daemon=True)
    prepared = time.perf_counter()
    server.start()
    url, ca_file = urls.get(timeout=600)
    prepare_s = time.perf_counter() - prepared
    if ca_file:
        os.environ["REQUESTS_CA_BUNDLE"] = ca_file
    try:
        baseline_s, baseline_n = _baseline(kind, url)
        db_url = database or f"sqlite:///{workdir / f'bench-{kind}.db'}"
        migrate.upgrade(db_url)
        extra = ({"HUBSPOT_ACCESS_TOKEN": fake_crm.HUBSPOT_TOKEN, "HUBSPOT_API_URL": url} if kind == "hubspot" else
                 {"SALESFORCE_USERNAME": fake_crm.SF_USERNAME, "SALESFORCE_PASSWORD": fake_crm.SF_PASSWORD,
                  "SALESFORCE_SECURITY_TOKEN": fake_crm.SF_SECURITY_TOKEN, "SALESFORCE_LOGIN_URL": url})
        settings = load_settings(_env_file=None, DATABASE_URL=db_url, REVALIGN_CRM=kind, **extra)
        services = Services(settings, clock=FrozenClock(NOW))
        _map_stages(services)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        report = run_sync(services)
        elapsed = time.perf_counter() - started
        rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        again_started = time.perf_counter()
        again = run_sync(services)
        again_s = time.perf_counter() - again_started
        services.close()
    finally:
        stop.set()
        server.join(30)
    backend = "PostgreSQL" if database and database.startswith("postgresql") else "SQLite"
    pulled = ", ".join(f"{n:,} {label}" for label, n in report.pulled.items())
    return (f"| {kind} | {backend} | {pulled} | {len(report.weeks)} weeks, {report.kpis.stored} KPI values | "
            f"{elapsed:.0f} s ({report.records / elapsed:,.0f} records/s) | {rss_peak:.0f} MB "
            f"(before {rss_before:.0f}) | {baseline_s:.0f} s for {baseline_n:,} | "
            f"{again_s:.1f} s ({again.records} re-pulled) | fake filled in {prepare_s:.0f} s |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--deals", type=int, default=20_000)
    parser.add_argument("--crm", nargs="+", default=["hubspot", "salesforce"], choices=["hubspot", "salesforce"])
    parser.add_argument("--database", default=None, help="a PostgreSQL URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="revalign-bench-crm-"))
    print("| CRM | DB | pulled | KPIs | full sync (wall) | peak RSS | plain-HTTP floor | incremental re-sync | |")
    print("|---|---|---|---|---|---|---|---|---|")
    if len(args.crm) == 1:
        print(run(args.crm[0], args.leads, args.deals, args.database, workdir), flush=True)
        return
    for kind in args.crm:   # one process each, so each peak RSS is that sync's own
        command = [sys.executable, __file__, "--crm", kind, "--leads", str(args.leads), "--deals", str(args.deals)]
        if args.database:
            command += ["--database", args.database]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        print(result.stdout.strip().splitlines()[-1] if result.returncode == 0 else f"| {kind} | failed: "
              f"{result.stderr.strip().splitlines()[-1:]} |", flush=True)


if __name__ == "__main__":
    main()
