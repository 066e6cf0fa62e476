"""Payloads shaped exactly like the ones Slack sends, for `revalign ask` and the tests."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from bot.slack_text import to_slack

TEAM_ID = "T0LOCAL01"
TEAM_DOMAIN = "local"
API_APP_ID = "A0REVALIGN"


def slash_command_form(
    command: str,
    text: str,
    *,
    user_id: str,
    channel_id: str = "C0LOCAL01",
    channel_name: str = "sales-marketing",
    user_name: str | None = None,
    response_url: str,
    trigger_id: str | None = None,
    encoded: bool = False,
) -> dict[str, str]:
    """Every field Slack posts for a slash command (application/x-www-form-urlencoded).

    `text` is what the person typed, and is sent the way Slack sends it: `&`, `<`
    and `>` as entities, a typed URL auto-linked. Pass `encoded=True` for text that
    already is in Slack's wire format (e.g. a real mention, `<@U123|maria>`).
    """
    return {
        "token": "verification-token-deprecated",
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text if encoded else to_slack(text),
        "api_app_id": API_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}",
    }


def encode_form(fields: dict[str, str]) -> str:
    return urlencode(fields)
