"""The shapes of Slack requests the app accepts, checked before Bolt sees them.

A signed request that does not fit (a `payload=` that is not a JSON object, a
`block_actions` without actions, an event without its user, a command without
`user_id`, …) is answered 400 at the edge instead of failing deep in a listener
with a 500. The models only name the fields the app relies on; Slack adds fields
freely, so everything else is allowed through untouched.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

SlackId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# JSON bodies deeper than this are not something Slack sends; refusing them early
# keeps the parser away from recursion limits.
MAX_JSON_DEPTH = 64


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow")


class User(_Shape):
    id: SlackId


class SlashCommand(_Shape):
    command: Annotated[str, StringConstraints(pattern=r"^/\S{1,64}$")]
    user_id: SlackId
    text: str = ""
    team_id: SlackId | None = None
    channel_id: SlackId | None = None


class Action(_Shape):
    action_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    value: str | None = None


class BlockActions(_Shape):
    type: Literal["block_actions"]
    user: User
    actions: Annotated[list[Action], Field(min_length=1)]


class View(_Shape):
    callback_id: str = ""
    private_metadata: str = ""
    state: dict[str, Any] = Field(default_factory=dict)


class ViewSubmission(_Shape):
    type: Literal["view_submission", "view_closed"]
    user: User
    view: View


class BlockSuggestion(_Shape):
    type: Literal["block_suggestion"]
    user: User
    action_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    value: str = ""


class Shortcut(_Shape):
    type: Literal["message_action", "shortcut"]
    user: User
    callback_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]


Interaction = Annotated[BlockActions | ViewSubmission | BlockSuggestion | Shortcut, Field(discriminator="type")]
_INTERACTION = TypeAdapter(Interaction)


class Event(_Shape):
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class AppHomeOpened(Event):
    type: Literal["app_home_opened"]
    user: SlackId
    tab: str = "home"


class EventCallback(_Shape):
    type: Literal["event_callback"]
    event: Event


class UrlVerification(_Shape):
    type: Literal["url_verification"]
    challenge: str


class MalformedRequest(ValueError):
    """A signed request whose body is not a shape Slack sends."""


def validate(body: str, content_type: str) -> None:
    """Raise `MalformedRequest` with a short reason unless `body` is a request the app can handle."""
    try:
        if "application/json" in content_type:
            _validate_json_body(_load_object(body, "body"))
        elif "application/x-www-form-urlencoded" in content_type:
            _validate_form(body)
        else:
            raise MalformedRequest("unsupported content type")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise MalformedRequest(f"{where}: {first['msg']}") from None


def _validate_form(body: str) -> None:
    form = {key: values[0] for key, values in parse_qs(body, keep_blank_values=True).items()}
    if "payload" in form:
        payload = _load_object(form["payload"], "payload")
        if payload.get("type") in (
            "block_actions",
            "view_submission",
            "view_closed",
            "block_suggestion",
            "message_action",
            "shortcut",
        ):
            _INTERACTION.validate_python(payload)
        elif not isinstance(payload.get("type"), str):
            raise MalformedRequest("payload: no type")
        return
    if "command" in form or "user_id" in form:
        SlashCommand.model_validate(form)
        return
    if "ssl_check" in form:
        return
    raise MalformedRequest("form is neither a command nor an interaction payload")


def _validate_json_body(body: dict[str, Any]) -> None:
    kind = body.get("type")
    if kind == "url_verification":
        UrlVerification.model_validate(body)
    elif kind == "event_callback":
        envelope = EventCallback.model_validate(body)
        if envelope.event.type == "app_home_opened":
            AppHomeOpened.model_validate(body["event"])
    else:
        raise MalformedRequest("body: not an event")


def _load_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise MalformedRequest(f"{what}: not JSON") from None
    except RecursionError:
        raise MalformedRequest(f"{what}: nested too deeply") from None
    if not isinstance(value, dict):
        raise MalformedRequest(f"{what}: not a JSON object")
    if _depth(value) > MAX_JSON_DEPTH:
        raise MalformedRequest(f"{what}: nested too deeply")
    return value


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            break
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest
