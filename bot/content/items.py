"""A content item as people see it: in search results and tag modals (ItemView), in the content report (ItemRef)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.models.content import ContentItem


@dataclass(frozen=True)
class ItemRef:
    """Which item, and the facets it is filed under."""

    id: int
    title: str
    url: str
    type: str
    stage: str
    persona: str


@dataclass(frozen=True)
class ItemView(ItemRef):
    summary: str


def item_view(item: ContentItem) -> ItemView:
    return ItemView(item.id, item.title, item.url, item.type, item.stage, item.persona, item.summary or "")
