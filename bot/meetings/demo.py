"""Demo data of this feature (filled in by the feature)."""

from bot.services import Services

# Example slash commands `revalign demo` runs after seeding, as (user_id, text).
EXAMPLES: list[tuple[str, str]] = []


def seed(services: Services) -> None:
    pass
