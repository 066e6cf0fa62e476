"""/content: the marketing content library, its search index, usage, gaps and learned phrasings.

Functions other features use (all take a SQLAlchemy Session):
  bot.content.gaps.top_gaps(session, limit, now, since=None) -> [GapSummary(objection, count, last_seen, ...)]
  bot.content.usage.most_shared(session, since, limit) -> [SharedItem(item_id, title, url, shares)]
  bot.content.usage.share_count(session, start, end) -> int
  bot.content.usage.search_count(session, start, end) / unused_items(session, since, limit)
"""
