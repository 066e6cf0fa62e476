"""Sending the weekly digest: its message (Block Kit, with the delivery key in the message
metadata), then its 8-week trend chart in the same conversation. Two parts of one delivery:
each is recorded when Slack confirms it, so a retry after a failure sends only what is missing
(see bot/meetings/posting.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.kpis.chart import render_chart
from bot.kpis.digest import Digest, build_digest
from bot.meetings.posting import Part, find_file, find_message, metadata, open_channel
from bot.render.digest import digest_blocks, digest_text

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.services import Services

TEXT, CHART = "text", "chart"


def chart_filename(digest: Digest) -> str:
    return f"revalign-kpis-{digest.period}.png"


def digest_parts(services: Services, period: str, key: str) -> list[Part]:
    """The digest for `period` as delivery parts: the message first, then the chart."""
    with services.db.session() as session:
        digest = build_digest(session, period, services.now(), tz=services.settings.timezone)
    blocks, text = digest_blocks(digest), digest_text(digest)
    png = render_chart(digest)
    filename = chart_filename(digest)

    def send_text(client: WebClient, channel: str, _done: dict[str, str]) -> str:
        response = client.chat_postMessage(
            channel=channel,
            text=text,
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
            metadata=metadata(key, TEXT),
        )
        return str(response["ts"])

    def send_chart(client: WebClient, channel: str, _done: dict[str, str]) -> str:
        response = client.files_upload_v2(
            channel=channel,
            content=png,
            filename=filename,
            title=f"KPI trend {digest.trend_periods[0]} – {digest.trend_periods[-1]}",
            alt_txt=f"Small-multiple line charts of the key KPIs for the 8 weeks to {digest.period}, with targets",
            initial_comment=f"The 8-week trend chart for the weekly KPI digest of {digest.period_label}.",
        )
        files = response.get("files") or [response.get("file") or {}]
        return str(files[0].get("id") or "uploaded")

    return [
        Part(TEXT, send_text, find_message(key, TEXT)),
        Part(CHART, send_chart, find_file(filename, after_part=TEXT)),
    ]


def send_digest(services: Services, client: WebClient, recipient: str, period: str) -> dict[str, str]:
    """Send the digest now, outside the scheduler (`revalign digest send`): to a user's DM (U…/W…)
    or a channel (C…/G…). Returns each part's reference; raises slack_sdk's errors when Slack
    still fails after the client's own retries. The scheduler sends through the delivery table
    instead (bot/meetings/delivery.py), which records the parts and retries only what is missing."""
    channel = open_channel(client, recipient)
    done: dict[str, str] = {}
    for part in digest_parts(services, period, key=f"adhoc:{period}:{recipient}"):
        done[part.name] = part.send(client, channel, done)
    return done
