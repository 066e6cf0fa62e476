"""Run a slash command through the real Bolt app without Slack, and render the replies as text."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from slack_bolt.request import BoltRequest

from bot.render import blocks as bk
from bot.errors import InvalidInput
from bot.local_slack import LocalSlack
from bot.services import Services
from bot.slack_payloads import encode_form, slash_command_form


@dataclass
class Reply:
    where: str      # "ephemeral", "channel", "modal", "home", "dm", "file"
    text: str


def run_slash_command(services: Services, line: str, *, user_id: str, channel_id: str = "C0LOCAL01") -> list[Reply]:
    line = line.strip()
    if not line.startswith("/"):
        raise InvalidInput("Give a slash command, e.g. revalign ask \"/lead-def MQL\".")
    command, _, text = line.partition(" ")
    from bot.app import create_app
    from bot.services import make_slack_client

    with LocalSlack() as slack:
        local_settings = services.settings.model_copy(update={"slack_api_url": slack.api_url})
        previous_client = services._slack_client
        services._slack_client = make_slack_client(local_settings)
        services._slack_client.token = "xoxb-local"
        executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ask")
        try:
            app, registrar = create_app(services, verify_requests=False, verify_token=False,
                                        listener_executor=executor)
            if command not in registrar.commands:
                known = ", ".join(sorted(registrar.commands))
                raise InvalidInput(f"revalign has no {command} command. Commands: {known}.")
            form = slash_command_form(command, text.strip(), user_id=user_id, channel_id=channel_id,
                                      response_url=slack.response_url())
            request = BoltRequest(body=encode_form(form),
                                  headers={"content-type": ["application/x-www-form-urlencoded"]})
            response = app.dispatch(request)
            executor.shutdown(wait=True)
        finally:
            executor.shutdown(wait=False)
            services._slack_client = previous_client
        replies: list[Reply] = []
        if response.body:
            try:
                replies.append(Reply("ephemeral", bk.render_message(json.loads(response.body))))
            except json.JSONDecodeError:
                replies.append(Reply("ephemeral", response.body))
        for call in slack.calls:
            replies.extend(_reply_from_call(call.method, call.args))
    return replies


def _reply_from_call(method: str, args: dict) -> list[Reply]:
    def payload_blocks(key: str = "blocks"):
        value = args.get(key)
        return json.loads(value) if isinstance(value, str) else value

    if method == "response_url":
        where = "channel" if args.get("response_type") == "in_channel" else "ephemeral"
        return [Reply(where, bk.render_message(args))]
    if method in ("chat.postMessage", "chat.postEphemeral"):
        payload = {"text": args.get("text", ""), "blocks": payload_blocks()}
        where = "channel" if method == "chat.postMessage" else "ephemeral"
        return [Reply(f"{where} {args.get('channel', '')}".strip(), bk.render_message(payload))]
    if method in ("views.open", "views.push", "views.publish"):
        view = payload_blocks("view") or {}
        title = (view.get("title") or {}).get("text", "")
        kind = "home" if method == "views.publish" else "modal"
        return [Reply(kind, (f"{title}\n" if title else "") + bk.render_blocks(view.get("blocks", [])))]
    if method == "files.completeUploadExternal":
        files = payload_blocks("files") or []
        return [Reply("file", ", ".join(f.get("title", "") for f in files))]
    return []
