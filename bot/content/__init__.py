"""/content: the marketing content library, its search index, usage, gaps and learned phrasings.

Functions other features use (all take a SQLAlchemy Session):
  bot.content.gaps.top_gaps(session, limit, now, since=None) -> [GapSummary(objection, count, last_seen, ...)]
  bot.content.usage.most_shared(session, since, limit) -> [SharedItem(item_id, title, url, shares)]
  bot.content.usage.share_count(session, start, end) -> int
  bot.content.requests.open_requests(session, limit, since=None) -> [GapRequests(gap_id, objection, requesters, ...)]
  bot.content.report.build_report(session, period) -> ContentReport (per item usage, unused, Not helpful)
  bot.content.summary.marketing_summary(session, now) -> MarketingSummary (render: bot.render.content.summary_blocks)
"""
