"""`POST /api/kpis`: a CRM or BI tool pushes KPI values with a bearer token.

Body: {"values": [{"period": "2026-W47", "metric": "MQLs", "value": 120}, …]} or one such object.
200 {"stored": n, "updated": n, "unchanged": n} · 401 wrong/missing token · 422 {"errors": […]}
· 503 when REVALIGN_API_TOKEN is not configured. Everything is validated before anything is stored.
"""

from __future__ import annotations

import hmac
import json
import logging

from flask import Flask, Response, jsonify, request

from bot.services import Services

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 2 * 1024 * 1024


def register(flask_app: Flask, services: Services) -> None:
    @flask_app.post("/api/kpis")
    def push_kpis():
        return handle_push(services)


def _error(status: int, message: str, **headers: str) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    response.headers.update(headers)
    return response


def _problems(errors: list[dict]) -> Response:
    response = jsonify(errors=errors)
    response.status_code = 422
    return response


def _authorized(expected: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    return hmac.compare_digest(token.strip().encode("utf-8"), expected.encode("utf-8"))


def handle_push(services: Services) -> Response:
    from bot.kpis import values

    token = services.settings.api_token
    if token is None:
        return _error(503, "The KPI API is disabled: set REVALIGN_API_TOKEN (at least 16 characters) to enable it.")
    if not _authorized(token.get_secret_value()):
        return _error(401, "Missing or wrong bearer token.",
                      **{"WWW-Authenticate": 'Bearer realm="revalign", error="invalid_token"'})
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return _error(413, f"The body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB; send fewer values at a time.")
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY_BYTES:
        return _error(413, f"The body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB; send fewer values at a time.")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _problems([{"index": None, "field": "body", "message": f"not valid JSON: {exc}"[:200]}])
    if isinstance(body, dict) and "values" in body:
        items = body["values"]
        extra = sorted(set(body) - {"values"})
        if extra:
            return _problems([{"index": None, "field": "body",
                               "message": "unknown field(s): " + ", ".join(map(str, extra))[:100]}])
        if not isinstance(items, list):
            return _problems([{"index": None, "field": "values", "message": "must be a list of values"}])
    elif isinstance(body, dict):
        items = [body]
    else:
        return _problems([{"index": None, "field": "body",
                           "message": 'expected {"values": [{"period", "metric", "value"}, …]} or one such object'}])
    if not items:
        return _problems([{"index": None, "field": "values", "message": "is empty: nothing to store"}])
    now, tz = services.now(), services.settings.timezone
    entries, errors = values.validate_entries(items, now=now, tz=tz)
    if errors:
        return _problems([e.as_dict() for e in errors])
    with services.db.session() as session:
        report = values.record(session, entries, source="api", by="api", now=now)
    log.info("KPI API: %s", report.as_dict())
    return jsonify(report.as_dict())
