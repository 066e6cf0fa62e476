"""(filled in by its feature)"""

from bot.services import Services
from handlers.registry import Registrar


def register(registrar: Registrar, services: Services) -> None:
    pass
