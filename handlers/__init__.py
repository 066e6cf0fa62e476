"""Slack listeners: parse the request, call the domain in `bot`, render Block Kit.

Every listener calls `ack()` first; anything that may take time runs after it,
and replies go through `respond()` (the command's response_url).

Conventions (as in bolt-python's samples): each feature module keeps one small
module-level function per listener and a `register(registrar, services)` that
wires them up; listeners get their dependencies from Bolt's `context`
(`context["services"]`, put there by the global middleware below), never from
closures. Block Kit is built in `bot/render/`, not here.
"""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services
from handlers import agenda, content, home, kpi, lead_def, revalign_cmd
from handlers.edge import decode_slack_text, register_fallbacks
from handlers.errors import register_error_handler
from handlers.registry import Registrar, WorkGate, services_middleware

FEATURES = (revalign_cmd, lead_def, content, kpi, agenda, home)


def register_all(app: App, services: Services) -> Registrar:
    slots = services.settings.work_slots
    registrar = Registrar(app, work_gate=WorkGate(slots) if slots else None)
    # Slack's entities are decoded here, once; listeners and the database see plain text.
    app.use(decode_slack_text)
    app.use(services_middleware(services, registrar))
    for feature in FEATURES:
        feature.register(registrar, services)
    register_fallbacks(app)
    register_error_handler(app)
    return registrar
