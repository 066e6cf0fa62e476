"""App Home: the user's role, their work if they are a department head, the funnel, this week's
KPIs, the next meeting and its agenda, and (for marketers) the open content gaps."""

from __future__ import annotations

from bot.meetings.home import home_data
from bot.render.home import home_view
from bot.services import Services
from handlers.registry import Registrar


def register(registrar: Registrar, services: Services) -> None:
    registrar.event("app_home_opened")(home_opened)


def home_opened(event, client, context) -> None:
    if event.get("tab", "home") != "home":
        return
    services: Services = context["services"]
    user_id = event["user"]
    with services.db.session() as session:
        data = home_data(session, services, user_id, services.now())
    client.views_publish(user_id=user_id, view=home_view(data))
