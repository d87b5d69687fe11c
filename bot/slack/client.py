"""The Slack Web API client the bot uses: counted, retried on 429/5xx, with a timeout."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.observability import BotMetrics
from bot.slack.pacing import ChannelPacer, PacedRateLimitRetryHandler

API_TIMEOUT_SECONDS = 10
#: Methods whose 5xx the client must not repeat: Slack may have acted before failing, and a
#: repeat posts a second message. The outbox retries them after checking what Slack has.
_NOT_REPEATED_ON_5XX = ("chat.postMessage",)


class RepostSafeServerErrorRetryHandler(AsyncServerErrorRetryHandler):
    """Retries 5xx answers except for posts, which the outbox retries idempotently."""

    async def _can_retry_async(self, *, state: Any, request: Any, response: Any = None,
                               error: Any = None) -> bool:
        if str(getattr(request, "url", "")).endswith(_NOT_REPEATED_ON_5XX):
            return False
        return bool(await super()._can_retry_async(state=state, request=request,
                                                   response=response, error=error))


class CountingWebClient(AsyncWebClient):
    """AsyncWebClient that counts every call and every failure on the bot's /metrics."""

    def __init__(self, *, metrics: BotMetrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._metrics = metrics

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        """Make the call, counting it (and its error, if any) by method."""
        self._metrics.slack_calls.labels(api_method).inc()
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown"))
            self._metrics.slack_errors.labels(api_method, error).inc()
            raise
        except Exception as exc:
            self._metrics.slack_errors.labels(api_method, type(exc).__name__).inc()
            raise


def build_web_client(token: str | None, base_url: str, metrics: BotMetrics,
                     pacer: ChannelPacer | None = None) -> CountingWebClient:
    """A client that honours Retry-After on 429 and retries 5xx and dropped connections.

    slack_sdk only retries connection errors by default; without the rate-limit handler a 429
    during an alert storm would lose the message. With the outbound module's ``pacer``, a
    429's retry also pushes that channel's next turn past it.
    """
    rate_limit = (PacedRateLimitRetryHandler(pacer) if pacer is not None
                  else AsyncRateLimitErrorRetryHandler(max_retry_count=5))
    return CountingWebClient(
        metrics=metrics,
        token=token,
        base_url=base_url,
        timeout=API_TIMEOUT_SECONDS,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            rate_limit,
            RepostSafeServerErrorRetryHandler(max_retry_count=2),
        ],
    )
