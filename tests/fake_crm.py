"""Local fakes of the two CRM APIs revalign uses, built from the vendors' documented shapes,
served on 127.0.0.1 to the REAL clients (hubspot-api-client, simple-salesforce).

HubSpot (plain HTTP; the client's Configuration.host points here):
  POST /crm/v3/objects/{contacts,deals}/search  filterGroups (GTE on the modified property),
       sorts, properties, limit ≤ 200, after → {total, results[{id, properties, createdAt,
       updatedAt, archived}], paging.next.after}; a search can't page past 10,000 results.
  GET  /crm/v3/owners  → {results[{id, email, firstName, lastName}], paging}
  Bearer private-app token; 401 {"status": "error", "category": "INVALID_AUTHENTICATION"};
  429 {"errorType": "RATE_LIMIT"} with Retry-After; 5xx on demand.
Salesforce (HTTPS with a self-signed certificate: simple-salesforce always builds https://
URLs; tests trust it through REQUESTS_CA_BUNDLE):
  POST /services/Soap/u/59.0      SOAP login (username, password + security token) → loginResponse
  POST /services/oauth2/token     grant_type=refresh_token → {access_token, instance_url}
  GET  /services/data/v59.0/query?q=SOQL → {totalSize, done, records, nextRecordsUrl}
  GET  /services/data/v59.0/query/<locator>-<offset>, GET …/limits
  Sforce-Limit-Info: api-usage=N/M on every REST answer; 401 INVALID_SESSION_ID when a
  session expired; 403 REQUEST_LIMIT_EXCEEDED and 5xx on demand.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import re
import socket
import ssl
import tempfile
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

HUBSPOT_TOKEN = "pat-na1-00000000-fake-token"
SF_USERNAME = "integration@acme.example"
SF_PASSWORD = "correct horse"
SF_SECURITY_TOKEN = "SECTOKEN123"
SF_CLIENT_ID = "3MVG9fake.consumer.key"
SF_CLIENT_SECRET = "fake-consumer-secret"
SF_REFRESH_TOKEN = "5Aep861fake.refresh.token"


def ms(moment: dt.datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def hs_time(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z") if moment else None


def sf_time(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000") if moment else None


@dataclass
class Failure:
    path: str          # substring of the request path
    status: int
    times: int
    retry_after: int | None = None
    body: object = None


class _Server:
    """A threaded HTTP(S) server whose handler calls `self.handle(method, path, query, headers, body)`."""

    def __init__(self, *, tls: bool = False) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):   # quiet
                pass

            def setup(self):
                super().setup()
                # Headers and body are two writes: without this, Nagle + delayed ACK add ~40 ms a request.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parsed = urlparse(self.path)
                status, headers, payload = owner.dispatch(method, parsed.path, parse_qs(parsed.query),
                                                          self.headers, body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                headers.setdefault("Content-Type", "application/json;charset=UTF-8")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.tls = tls
        self._tmp = None
        if tls:
            self._tmp = tempfile.TemporaryDirectory()
            cert, key = _self_signed(Path(self._tmp.name))
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            self.ca_file = str(cert)
        self.lock = threading.Lock()
        self.failures: list[Failure] = []
        self.requests: list[tuple[str, str]] = []
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def fail(self, path: str, status: int, *, times: int = 1, retry_after: int | None = None, body=None) -> None:
        with self.lock:
            self.failures.append(Failure(path, status, times, retry_after, body))

    def _planned_failure(self, path: str):
        with self.lock:
            for failure in self.failures:
                if failure.path in path and failure.times > 0:
                    failure.times -= 1
                    return failure
        return None

    def dispatch(self, method, path, query, headers, body):
        with self.lock:
            self.requests.append((method, path))
        return self.handle(method, path, query, headers, body)

    def handle(self, method, path, query, headers, body):  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._tmp:
            self._tmp.cleanup()


def _self_signed(directory: Path) -> tuple[Path, Path]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


# --- HubSpot ----------------------------------------------------------------------------------
HS_MODIFIED = {"contacts": "lastmodifieddate", "deals": "hs_lastmodifieddate"}
HS_SEARCH_CAP = 10_000


class FakeHubSpot(_Server):
    def __init__(self, token: str = HUBSPOT_TOKEN) -> None:
        super().__init__()
        self.token = token
        self.objects: dict[str, list[dict]] = {"contacts": [], "deals": []}
        self._sorted: dict[str, tuple[list[int], list[dict]] | None] = {"contacts": None, "deals": None}
        self.owners: list[dict] = []
        self.searches: list[dict] = []

    def add(self, kind: str, object_id: str, properties: dict, created: dt.datetime, modified: dt.datetime) -> None:
        props = {k: v for k, v in properties.items() if v is not None}
        props.setdefault("createdate", hs_time(created))
        props[HS_MODIFIED[kind]] = hs_time(modified)
        props["hs_object_id"] = object_id
        self.objects[kind].append({"id": object_id, "properties": props, "createdAt": hs_time(created),
                                   "updatedAt": hs_time(modified), "archived": False, "_modified": modified})
        self._sorted[kind] = None

    def add_owner(self, owner_id: str, email: str, first: str = "", last: str = "") -> None:
        self.owners.append({"id": owner_id, "email": email, "firstName": first, "lastName": last,
                            "userId": int(owner_id), "archived": False,
                            "createdAt": "2025-01-01T00:00:00.000Z", "updatedAt": "2025-01-01T00:00:00.000Z"})

    def _index(self, kind: str):
        if self._sorted[kind] is None:
            rows = sorted(self.objects[kind], key=lambda o: (o["_modified"], o["id"]))
            self._sorted[kind] = ([int(o["_modified"].timestamp() * 1000) for o in rows], rows)
        return self._sorted[kind]

    def handle(self, method, path, query, headers, body):
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {}, {"status": "error", "message": "Authentication credentials not found. This API supports "
                             "OAuth 2.0 authentication", "correlationId": str(uuid.uuid4()),
                             "category": "INVALID_AUTHENTICATION"}
        failure = self._planned_failure(path)
        if failure:
            extra = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            if failure.status == 429:
                return 429, extra, {"status": "error", "message": "You have reached your secondly limit.",
                                    "errorType": "RATE_LIMIT", "correlationId": str(uuid.uuid4()),
                                    "policyName": "SECONDLY"}
            return failure.status, extra, {"status": "error", "message": "internal error",
                                           "correlationId": str(uuid.uuid4()), "category": "INTERNAL_ERROR"}
        match = re.fullmatch(r"/crm/v3/objects/(contacts|deals)/search", path)
        if match and method == "POST":
            return self._search(match.group(1), json.loads(body or b"{}"))
        if path in ("/crm/v3/owners", "/crm/v3/owners/") and method == "GET":
            after = int((query.get("after") or ["0"])[0])
            limit = min(int((query.get("limit") or ["100"])[0]), 500)
            page = self.owners[after:after + limit]
            result = {"results": page}
            if after + limit < len(self.owners):
                result["paging"] = {"next": {"after": str(after + limit), "link": "?after=" + str(after + limit)}}
            return 200, {}, result
        return 404, {}, {"status": "error", "message": f"no route {method} {path}", "category": "OBJECT_NOT_FOUND"}

    def _search(self, kind: str, request: dict):
        self.searches.append(request)
        keys, rows = self._index(kind)
        start = 0
        for group in request.get("filterGroups") or []:
            for f in group.get("filters") or []:
                if f.get("propertyName") == HS_MODIFIED[kind] and f.get("operator") == "GTE":
                    start = bisect.bisect_left(keys, int(f["value"]))
        sorts = request.get("sorts") or []
        if sorts and sorts[0] not in (HS_MODIFIED[kind], {"propertyName": HS_MODIFIED[kind], "direction": "ASCENDING"}):
            return 400, {}, {"status": "error", "message": "this fake only sorts by modified date, ascending",
                             "category": "VALIDATION_ERROR"}
        limit = int(request.get("limit") or 10)
        if limit > 200:
            return 400, {}, {"status": "error", "message": "limit must be ≤ 200", "category": "VALIDATION_ERROR"}
        after = int(request.get("after") or 0)
        if after + limit > HS_SEARCH_CAP:
            return 400, {}, {"status": "error", "category": "VALIDATION_ERROR",
                             "message": "There was a problem with the request: results are limited to 10,000"}
        wanted = set(request.get("properties") or [])
        matched = rows[start:]
        page = matched[after:after + limit]
        results = [{"id": o["id"], "createdAt": o["createdAt"], "updatedAt": o["updatedAt"], "archived": False,
                    "properties": {k: v for k, v in o["properties"].items() if not wanted or k in wanted}}
                   for o in page]
        answer: dict = {"total": len(matched), "results": results}
        if after + limit < len(matched):
            answer["paging"] = {"next": {"after": str(after + limit)}}
        return 200, {}, answer


# --- Salesforce ------------------------------------------------------------------------------------
SF_VERSION = "59.0"
SF_ORG = "00D000000000001EAA"


class FakeSalesforce(_Server):
    def __init__(self, *, batch_size: int = 2000, api_max: int = 15000) -> None:
        super().__init__(tls=True)
        self.batch_size = batch_size
        self.api_max = api_max
        self.api_used = 0
        self.sessions: set[str] = set()
        self.logins = 0
        self.records: dict[str, list[dict]] = {"Lead": [], "Opportunity": []}
        self.queries: list[str] = []
        self._locators: dict[str, list[dict]] = {}

    def add(self, sobject: str, record: dict) -> None:
        record = dict(record)
        record["attributes"] = {"type": sobject, "url": f"/services/data/v{SF_VERSION}/sobjects/{sobject}/{record['Id']}"}
        self.records[sobject].append(record)

    def expire_sessions(self) -> None:
        with self.lock:
            self.sessions.clear()

    def _new_session(self) -> str:
        token = f"{SF_ORG}!AQ{uuid.uuid4().hex}"
        with self.lock:
            self.sessions.add(token)
            self.logins += 1
        return token

    def handle(self, method, path, query, headers, body):
        if path == f"/services/Soap/u/{SF_VERSION}" and method == "POST":
            return self._soap_login(body.decode())
        if path == "/services/oauth2/token" and method == "POST":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if (form.get("grant_type") != "refresh_token" or form.get("refresh_token") != SF_REFRESH_TOKEN
                    or form.get("client_id") != SF_CLIENT_ID):
                return 400, {}, {"error": "invalid_grant", "error_description": "expired access/refresh token"}
            return 200, {}, {"access_token": self._new_session(), "instance_url": self.url,
                             "id": f"{self.url}/id/{SF_ORG}/005000000000001", "token_type": "Bearer",
                             "issued_at": ms(dt.datetime.now(dt.UTC)), "signature": "fake="}
        token = (headers.get("Authorization") or "").removeprefix("Bearer ")
        with self.lock:
            valid = token in self.sessions
            self.api_used += 1
        limit_header = {"Sforce-Limit-Info": f"api-usage={self.api_used}/{self.api_max}"}
        if not valid:
            return 401, {}, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
        failure = self._planned_failure(path)
        if failure:
            if failure.status == 403:
                return 403, limit_header, [{"message": "TotalRequests Limit exceeded.",
                                            "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
            return failure.status, limit_header, failure.body or [{"message": "Service Unavailable",
                                                                  "errorCode": "SERVER_UNAVAILABLE"}]
        base = f"/services/data/v{SF_VERSION}"
        if path == f"{base}/query/" or path == f"{base}/query":
            return self._query((query.get("q") or [""])[0], limit_header)
        if path.startswith(f"{base}/query/"):
            locator, _, offset = path.rsplit("/", 1)[1].rpartition("-")
            rows = self._locators.get(locator)
            if rows is None:
                return 400, limit_header, [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]
            return 200, limit_header, self._batch(locator, rows, int(offset))
        if path == f"{base}/limits/" or path == f"{base}/limits":
            return 200, limit_header, {"DailyApiRequests": {"Max": self.api_max, "Remaining": self.api_max - self.api_used}}
        return 404, limit_header, [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]

    def _soap_login(self, xml: str):
        user = re.search(r"<n1:username>(.*?)</n1:username>", xml, re.DOTALL)
        password = re.search(r"<n1:password>(.*?)</n1:password>", xml, re.DOTALL)
        if not (user and password and user.group(1) == SF_USERNAME
                and password.group(1) == SF_PASSWORD + SF_SECURITY_TOKEN):
            fault = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
                     'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
                     'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
                     '<faultcode>INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid username, password, '
                     'security token; or user locked out.</faultstring><detail><sf:LoginFault>'
                     '<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode><sf:exceptionMessage>Invalid username, '
                     'password, security token; or user locked out.</sf:exceptionMessage></sf:LoginFault></detail>'
                     '</soapenv:Fault></soapenv:Body></soapenv:Envelope>')
            return 500, {"Content-Type": "text/xml"}, fault.encode()
        session = self._new_session()
        ok = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
              'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com">'
              '<soapenv:Body><loginResponse><result>'
              f'<metadataServerUrl>{self.url}/services/Soap/m/{SF_VERSION}/{SF_ORG}</metadataServerUrl>'
              '<passwordExpired>false</passwordExpired><sandbox>false</sandbox>'
              f'<serverUrl>{self.url}/services/Soap/u/{SF_VERSION}/{SF_ORG}</serverUrl>'
              f'<sessionId>{session}</sessionId><userId>005000000000001AAA</userId>'
              '</result></loginResponse></soapenv:Body></soapenv:Envelope>')
        return 200, {"Content-Type": "text/xml"}, ok.encode()

    def _query(self, soql: str, headers: dict):
        self.queries.append(soql)
        match = re.search(r"\bFROM\s+(\w+)", soql, re.IGNORECASE)
        if not match or match.group(1) not in self.records:
            return 400, headers, [{"message": "sObject type is not supported.", "errorCode": "INVALID_TYPE"}]
        rows = self.records[match.group(1)]
        since = re.search(r"LastModifiedDate\s*>=\s*(\S+)", soql)
        if since:
            bound = dt.datetime.fromisoformat(since.group(1).replace("Z", "+00:00"))
            rows = [r for r in rows if _parse_sf(r["LastModifiedDate"]) >= bound]
        if re.match(r"\s*SELECT\s+COUNT\(\)", soql, re.IGNORECASE):
            return 200, headers, {"totalSize": len(rows), "done": True, "records": []}
        rows = sorted(rows, key=lambda r: (r["LastModifiedDate"], r["Id"]))
        locator = "01g" + uuid.uuid4().hex[:15]
        with self.lock:
            self._locators[locator] = rows
        return 200, headers, self._batch(locator, rows, 0)

    def _batch(self, locator: str, rows: list[dict], offset: int) -> dict:
        page = rows[offset:offset + self.batch_size]
        done = offset + self.batch_size >= len(rows)
        answer = {"totalSize": len(rows), "done": done, "records": page}
        if not done:
            answer["nextRecordsUrl"] = f"/services/data/v{SF_VERSION}/query/{locator}-{offset + self.batch_size}"
        return answer


def _parse_sf(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.000+0000").replace(tzinfo=dt.UTC)


def with_stage_mapping(export_text: str, mapping: dict[str, dict[str, list[str]]]) -> str:
    """A lead-definition export (YAML) with the named terms' CRM stage mapping set to `mapping`'s:
    the fakes' stages are only counted once MQL and SQL name them."""
    import yaml

    data = yaml.safe_load(export_text)
    for term in data["terms"]:
        if term["key"] in mapping:
            term["crm"] = mapping[term["key"]]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
