"""Slack listeners: parse the request, call the domain in `bot`, render Block Kit.

Every listener calls `ack()` first; anything that may take time runs after it,
and replies go through `respond()` (the command's response_url).
"""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services
from handlers import agenda, content, home, kpi, lead_def, revalign_cmd
from handlers.errors import register_error_handler
from handlers.registry import Registrar

FEATURES = (revalign_cmd, lead_def, content, kpi, agenda, home)


def register_all(app: App, services: Services) -> Registrar:
    registrar = Registrar(app)
    for feature in FEATURES:
        feature.register(registrar, services)
    register_error_handler(app)
    return registrar
