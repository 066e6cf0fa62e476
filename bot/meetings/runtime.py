"""Scheduler start-up (filled in by the meetings feature)."""

from bot.services import Services


def start_background_scheduler(services: Services) -> None:
    pass
