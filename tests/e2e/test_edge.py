"""The edge, over signed HTTP on both backends: Slack-encoded text decoded once and escaped once,
nothing live reaching a payload, malformed requests refused cleanly, old buttons answered politely,
out-of-range ids refused before any query."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from bot.models.content import ContentGap
from bot.models.scheduling import AgendaItem
from bot.slack_payloads import API_APP_ID, TEAM_ID, slash_command_form
from tests.conftest import text_of
from tests.slack_requests import SlackMarkup

EVIL_LINK = "<https://evil.example|Vantage price sheet>"


def _mrkdwn_of(payload: dict) -> str:
    """Every mrkdwn/plain text string in a payload, joined (what Slack would parse)."""
    found: list[str] = [payload.get("text", "")]

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload.get("blocks", []))
    return "\n".join(found)


def test_slack_encoded_text_round_trips_once(slack_app):
    # Typed: R&D budget <!here> <https://evil.example|Vantage price sheet>; sent as Slack sends it.
    reply = slack_app.command("/agenda", f"add R&D budget <!here> {EVIL_LINK}")
    mrkdwn = _mrkdwn_of(reply)
    assert "R&amp;D budget" in mrkdwn
    assert "&amp;amp;" not in mrkdwn and "R&D" not in mrkdwn.replace("R&amp;D", "")
    assert "<!here>" not in mrkdwn and "&lt;!here&gt;" in mrkdwn
    assert EVIL_LINK not in json.dumps(reply)
    assert "R&D budget <!here> " + EVIL_LINK in text_of(reply)
    with slack_app.services.db.session() as session:
        stored = session.scalars(select(AgendaItem.text)).one()
    assert stored == f"R&D budget <!here> {EVIL_LINK}"  # plain text, as typed
    listing = slack_app.command("/agenda")
    assert "R&amp;D budget" in _mrkdwn_of(listing) and "R&D budget" in text_of(listing)
    assert "<!here>" not in json.dumps(listing)


def test_literal_entities_typed_by_a_person_stay_literal(slack_app):
    # A person who types "&lt;" means those four characters: Slack sends "&amp;lt;".
    reply = slack_app.command("/agenda", "add Write &lt;b&gt; in the doc")
    assert "Write &lt;b&gt; in the doc" in text_of(reply)
    assert "&amp;lt;b&amp;gt;" in _mrkdwn_of(reply)


def test_nul_and_control_characters_are_stripped_identically(slack_app):
    reply = slack_app.command("/agenda", "add Pipeline\x00 review\x07 now")
    assert "Pipeline review now" in text_of(reply)
    with slack_app.services.db.session() as session:
        assert session.scalars(select(AgendaItem.text)).one() == "Pipeline review now"


def test_errors_echo_user_text_escaped(slack_app):
    slack_app.set_role("U0ADMIN01", "admin")
    reply = slack_app.command(
        "/revalign", SlackMarkup("roles set <@U0MKT0001|maria> ") + "<!channel>", user_id="U0ADMIN01"
    )
    assert "is not a role" in text_of(reply)
    assert "'&lt;!channel&gt;' is not a role" in reply["text"]
    unknown = slack_app.command("/revalign", f"<!here> {EVIL_LINK}")
    assert "<!here>" not in json.dumps(unknown) and EVIL_LINK not in json.dumps(unknown)


def test_fallback_text_of_replies_carries_nothing_live(slack_app):
    reply = slack_app.command("/content", f"<!channel> <@U0BOSS01> <#C0DEALS1> {EVIL_LINK} too pricey")
    for live in ("<!channel>", "<@U0BOSS01>", "<#C0DEALS1>", EVIL_LINK):
        assert live not in reply.get("text", "")


@pytest.mark.parametrize(
    "body, content_type",
    [
        (urlencode({"payload": "{not json"}), "application/x-www-form-urlencoded"),
        (urlencode({"payload": "[1, 2]"}), "application/x-www-form-urlencoded"),
        (
            urlencode({"payload": json.dumps({"type": "block_actions", "user": {"id": "U0REP0001"}, "actions": []})}),
            "application/x-www-form-urlencoded",
        ),
        ('["not", "an object"]', "application/json"),
        (
            json.dumps(
                {
                    "type": "event_callback",
                    "team_id": TEAM_ID,
                    "api_app_id": API_APP_ID,
                    "event": {"type": "app_home_opened", "tab": "home"},
                }
            ),
            "application/json",
        ),
        (
            urlencode(
                {
                    k: v
                    for k, v in slash_command_form("/agenda", "", user_id="U0X", response_url="http://x").items()
                    if k != "user_id"
                }
            ),
            "application/x-www-form-urlencoded",
        ),
        ("{" * 5000 + "}" * 5000, "application/json"),
    ],
    ids=[
        "payload-not-json",
        "payload-not-object",
        "empty-actions",
        "event-not-object",
        "home-without-user",
        "command-without-user",
        "deeply-nested",
    ],
)
def test_malformed_signed_requests_get_400(slack_app, body, content_type):
    result = slack_app.send.post(body, content_type)
    assert result.status == 400, (result.status, result.body[:300])
    assert b"Traceback" not in result.body
    time.sleep(0.2)
    assert slack_app.slack.calls_to("response_url") == []


def test_oversized_body_is_refused_unread(slack_app):
    result = slack_app.send.post("x=" + "a" * (2 * 1024 * 1024), "application/x-www-form-urlencoded")
    assert result.status == 413


def test_unsigned_garbage_is_401_not_400(slack_app):
    result = slack_app.send.post("{not json", "application/json", signature="v0=00")
    assert result.status == 401


def test_unknown_action_gets_ack_and_polite_reply(slack_app):
    reply = slack_app.action("an_action_from_an_old_version", "42")
    assert "out of date" in text_of(reply)
    assert reply["response_type"] == "ephemeral"


def test_unknown_modal_submission_gets_a_polite_modal(slack_app):
    result = slack_app.send.view_submission("an_old_modal", {})
    assert result.status == 200
    body = result.json()
    assert body["response_action"] == "update" and "older version" in json.dumps(body)


def test_out_of_range_ids_get_a_friendly_reply_and_change_nothing(slack_app):
    slack_app.set_role("U0MKT0001", "marketer")
    with slack_app.services.db.session() as session:
        session.add(ContentGap(objection="too expensive", count=3))
    for value in ("99999999999999999999", "-1", "0", "12abc", "2147483648"):
        reply = slack_app.action("content_gap_dismiss", value, user_id="U0MKT0001")
        assert "out of date" in text_of(reply), (value, reply)
    with slack_app.services.db.session() as session:
        assert session.scalars(select(ContentGap.status)).all() == ["open"]
    # The same button with a real id still works.
    assert "Dismissed" in text_of(slack_app.action("content_gap_dismiss", "1", user_id="U0MKT0001"))


def test_message_shortcut_text_is_decoded_once(slack_app):
    slack_app.set_role("U0MKT0001", "marketer")
    before = len(slack_app.slack.calls_to("views.open"))
    result = slack_app.send.message_shortcut(
        "tag_objection", "<!here> R&D says we're <50% of Vantage", user_id="U0MKT0001"
    )
    assert result.status == 200
    view = slack_app.slack.wait_for("views.open", before + 1)[before].args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    initial = next(b["element"]["initial_value"] for b in view["blocks"] if b.get("block_id") == "objection")
    assert initial == "R&D says we're <50% of Vantage"  # plain text in a plain_text_input: not escaped


def test_typeahead_query_with_control_characters_gets_options_not_an_error(slack_app):
    payload = {
        "type": "block_suggestion",
        "user": {"id": "U0MKT0001", "team_id": TEAM_ID},
        "team": {"id": TEAM_ID},
        "api_app_id": API_APP_ID,
        "action_id": "content_items",
        "block_id": "items",
        "value": "pri\x00ce",
        "container": {"type": "view", "view_id": "V1"},
    }
    result = slack_app.send.interactive(payload)
    assert result.status == 200 and isinstance(result.json()["options"], list)


def test_error_echoing_a_raw_argument_is_defanged_on_its_way_out(slack_app):
    # bot/meetings/schedules.py builds "Unknown option …" from the raw word; tell_user makes it inert.
    slack_app.set_role("U0ADMIN01", "admin")
    reply = slack_app.command("/revalign", "schedule weekly tue 10:00 UTC #x --<!here> 1", user_id="U0ADMIN01")
    assert "Unknown option" in text_of(reply) and "<!here>" not in json.dumps(reply)
