"""The things every listener, CLI command and job needs, built once per process."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from bot.clock import Clock, system_clock
from bot.db import Database
from bot.settings import Settings

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.content.resources import ContentResources
    from content_index import Embedder

log = logging.getLogger(__name__)


class Services:
    def __init__(
        self,
        settings: Settings,
        *,
        db: Database | None = None,
        clock: Clock = system_clock,
        embedder: "Embedder | None" = None,
        slack_client: "WebClient | None" = None,
    ) -> None:
        self.settings = settings
        self.db = db or Database(settings.database_url)
        self.clock = clock
        self._embedder = embedder
        self._embedder_lock = threading.Lock()
        self._slack_client = slack_client
        self.ready = threading.Event()
        # Other reasons /healthz answers 503 (Slack unreachable, shutting down): name -> reason or None.
        self.health_checks: dict[str, Callable[[], str | None]] = {}
        self._startup_tasks: list[tuple[str, Callable[[], Any]]] = []

    def now(self) -> datetime:
        return self.clock()

    # --- the embedding model -------------------------------------------------
    @property
    def embedder(self) -> "Embedder":
        """The sentence-transformers model, loaded on first use (torch is imported only here)."""
        if self._embedder is None:
            with self._embedder_lock:
                if self._embedder is None:
                    from content_index import Embedder

                    self._embedder = Embedder(self.settings.embedding_model)
        return self._embedder

    # --- features --------------------------------------------------------------
    @cached_property
    def content(self) -> "ContentResources":
        """The content library's process-wide resources: its search index, embedding cache and
        vocabulary (bot/content/resources.py). Its domain functions take a Session."""
        from bot.content.resources import ContentResources

        return ContentResources(self)

    # --- Slack Web API ----------------------------------------------------------
    @property
    def slack(self) -> "WebClient":
        if self._slack_client is None:
            self._slack_client = make_slack_client(self.settings)
        return self._slack_client

    # --- start-up ---------------------------------------------------------------
    def on_startup(self, name: str, task: Callable[[], Any]) -> None:
        self._startup_tasks.append((name, task))

    def start(self) -> None:
        """Run start-up work (model, indexes) so the first request is as fast as the hundredth."""
        for name, task in self._startup_tasks:
            log.info("start-up: %s", name)
            task()
        self.ready.set()

    def close(self) -> None:
        if "content" in self.__dict__:  # stop the content index's sync thread
            self.content.close()
        self.db.dispose()


def make_slack_client(settings: Settings) -> "WebClient":
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import (
        ConnectionErrorRetryHandler,
        RateLimitErrorRetryHandler,
        ServerErrorRetryHandler,
    )

    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=settings.slack_timeout,
        # Slack's own retry handlers honour Retry-After on 429 and back off on 5xx.
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=3),
        ],
    )
