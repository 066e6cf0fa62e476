"""HTTP routes for KPIs (filled in by the KPI feature)."""

from flask import Flask

from bot.services import Services


def register(flask_app: Flask, services: Services) -> None:
    pass
