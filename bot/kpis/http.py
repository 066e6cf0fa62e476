"""`POST /api/kpis`: a CRM or BI tool pushes KPI values with a bearer token.

Body (Content-Type: application/json): {"values": [{"period": "2026-W47", "metric": "MQLs", "value": 120}, …]}
or one such object. A week after the current one is refused unless `"allow_future": true` is in the
body (beside "values") or `?allow_future=true` is in the URL.
200 {"stored": n, "updated": n, "unchanged": n} · 400 JSON nested too deeply · 401 wrong/missing token
· 413 too large · 415 not JSON · 422 {"errors": […]} · 503 when REVALIGN_API_TOKEN is not configured.
Everything is validated before anything is stored.
"""

from __future__ import annotations

import hmac
import json
import logging

from flask import Flask, Response, jsonify, request

from bot.kpis import values
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


def _is_json(mimetype: str) -> bool:
    """application/json, or a JSON-based type such as application/vnd.acme+json."""
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


def _flag(text: str | None) -> bool | None:
    """A query flag: absent → False; true/1/yes → True; false/0/no → False; anything else → None."""
    if text is None:
        return False
    return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(text.strip().lower())


def handle_push(services: Services) -> Response:
    token = services.settings.api_token
    if token is None:
        return _error(503, "The KPI API is disabled: set REVALIGN_API_TOKEN (at least 16 characters) to enable it.")
    if not _authorized(token.get_secret_value()):
        return _error(
            401,
            "Missing or wrong bearer token.",
            **{"WWW-Authenticate": 'Bearer realm="revalign", error="invalid_token"'},
        )
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return _error(
            413, f"The body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB; send fewer values at a time."
        )
    if not _is_json(request.mimetype):
        return _error(415, "Send the values as JSON, with the header Content-Type: application/json.")
    allow_future = _flag(request.args.get("allow_future"))
    if allow_future is None:
        return _problems([{"index": None, "field": "allow_future", "message": "must be true or false"}])
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY_BYTES:
        return _error(
            413, f"The body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB; send fewer values at a time."
        )
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _problems([{"index": None, "field": "body", "message": f"not valid JSON: {exc}"[:200]}])
    except RecursionError:
        # Python's JSON parser recurses once per nesting level; no KPI body is more than three deep.
        return _error(400, "The JSON is nested too deeply.")
    if isinstance(body, dict) and "values" in body:
        items = body["values"]
        if "allow_future" in body:
            if not isinstance(body["allow_future"], bool):
                return _problems([{"index": None, "field": "allow_future", "message": "must be true or false"}])
            allow_future = allow_future or body["allow_future"]
        extra = sorted(set(body) - {"values", "allow_future"})
        if extra:
            return _problems(
                [{"index": None, "field": "body", "message": "unknown field(s): " + ", ".join(map(str, extra))[:100]}]
            )
        if not isinstance(items, list):
            return _problems([{"index": None, "field": "values", "message": "must be a list of values"}])
    elif isinstance(body, dict):
        items = [body]
    else:
        return _problems(
            [
                {
                    "index": None,
                    "field": "body",
                    "message": 'expected {"values": [{"period", "metric", "value"}, …]} or one such object',
                }
            ]
        )
    if not items:
        return _problems([{"index": None, "field": "values", "message": "is empty: nothing to store"}])
    now, tz = services.now(), services.settings.timezone
    entries, errors = values.validate_entries(items, now=now, tz=tz, allow_future=allow_future)
    if errors:
        return _problems([e.as_dict() for e in errors])
    with services.db.session() as session:
        report = values.record(session, entries, source="api", by="api", now=now)
    log.info("KPI API: %s", report.as_dict())
    return jsonify(report.as_dict())
