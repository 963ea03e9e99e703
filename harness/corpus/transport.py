"""Chat clients for the translator and the verifier: an OpenAI-compatible endpoint, or a model run
by vLLM's offline engine. Both take a list of :class:`Request` and call ``on_reply(request,
reply)`` in the calling thread as each one finishes, so the caller can journal it at once.

The endpoint client (the ``openai`` package, its own retries off) runs at most ``concurrency``
requests at a time and retries rate limits (429), timeouts/conflicts (408, 409), server errors
(5xx) and lost connections with exponential backoff and jitter, honouring ``Retry-After``. Any
other 4xx will not change on retry: that request gets a :class:`Failed` reply and the others go
on. When retries run out the endpoint is down: :class:`EndpointDown` stops the run (what finished
is journaled, so a rerun resumes).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.core.errors import UserError

log = logging.getLogger("harness.corpus")

RETRY_STATUS = frozenset({408, 409, 429})


@dataclass(frozen=True)
class Request:
    key: str
    """Content hash of everything that determines the reply (the cache key)."""
    messages: tuple[dict, ...]
    max_tokens: int


@dataclass
class Reply:
    text: str
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    """What the endpoint charged, when it reports it (``usage.cost``, as OpenRouter does)."""
    attempts: int = 1


@dataclass
class Failed:
    """A request the endpoint refused for good (a 4xx other than 408/409/429)."""

    error: str
    status: int | None = None
    attempts: int = 1


class EndpointDown(UserError):
    """Retries ran out: the endpoint is unreachable or keeps failing."""


OnReply = Callable[[Request, "Reply | Failed"], None]


class ChatClient(Protocol):
    name: str

    def run(self, requests: Sequence[Request], on_reply: OnReply) -> None: ...


@dataclass
class OpenAIChat:
    """An OpenAI-compatible ``/v1/chat/completions`` endpoint (vLLM serve, DeepSeek, OpenAI, ...)."""

    base_url: str
    model: str
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 32
    max_retries: int = 6
    backoff: float = 1.0
    """First retry delay in seconds; doubled per attempt, times a random factor in [0.5, 1.5]."""
    max_backoff: float = 60.0
    timeout: float = 600.0
    temperature: float = 0.0
    extra_body: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.model} @ {self.base_url}"

    def run(self, requests: Sequence[Request], on_reply: OnReply) -> None:
        if requests:
            asyncio.run(self._run(list(requests), on_reply))

    async def _run(self, requests: list[Request], on_reply: OnReply) -> None:
        import openai

        client = openai.AsyncOpenAI(base_url=self.base_url, api_key=os.environ.get(self.api_key_env) or "none",
                                    max_retries=0, timeout=self.timeout)
        queue: asyncio.Queue[Request] = asyncio.Queue()
        for request in requests:
            queue.put_nowait(request)

        async def worker() -> None:
            while not queue.empty():
                request = queue.get_nowait()
                on_reply(request, await self._complete(client, request))

        workers = [asyncio.create_task(worker()) for _ in range(min(self.concurrency, len(requests)))]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            await client.close()

    async def _complete(self, client: Any, request: Request) -> Reply | Failed:
        import openai

        for attempt in range(1, self.max_retries + 2):
            try:
                response = await client.chat.completions.create(
                    model=self.model, messages=list(request.messages), max_tokens=request.max_tokens,
                    temperature=self.temperature, extra_body=self.extra_body or None)
            except openai.APIStatusError as exc:
                if exc.status_code not in RETRY_STATUS and exc.status_code < 500:
                    return Failed(_short(exc), exc.status_code, attempt)
                error, wait = _short(exc), _retry_after(exc)
            except openai.APIConnectionError as exc:  # refused, reset, timed out
                error, wait = f"{type(exc).__name__}: {exc}", None
            else:
                return _reply(response, attempt)
            if attempt > self.max_retries:
                raise EndpointDown(f"{self.name} still failing after {attempt} attempts ({error}); "
                                   f"rerun the same command to resume")
            delay = wait if wait is not None else self.backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)
            log.info("retry %d of %s in %.2fs: %s", attempt, request.key[:12], delay, error)
            await asyncio.sleep(min(delay, self.max_backoff))
        raise AssertionError("unreachable")


def _short(exc: Any) -> str:
    return f"HTTP {getattr(exc, 'status_code', '?')}: {str(getattr(exc, 'message', exc))[:300]}"


def _retry_after(exc: Any) -> float | None:
    value = exc.response.headers.get("retry-after") if getattr(exc, "response", None) is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: use our own backoff


def _reply(response: Any, attempts: int) -> Reply:
    choice = response.choices[0]
    usage = response.usage
    extra = (usage.model_extra or {}) if usage is not None else {}
    cost = extra.get("cost")
    return Reply(
        text=choice.message.content or "", finish_reason=choice.finish_reason,
        prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
        completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
        cost=float(cost) if isinstance(cost, (int, float)) else None, attempts=attempts,
    )


@dataclass
class VLLMOffline:
    """A model run in this process by vLLM's offline engine, built on first use (loading a 30B
    model takes minutes; ``--help`` and a fully cached rerun must not pay for it)."""

    model: str
    batch_size: int = 512
    temperature: float = 0.0
    engine_args: dict[str, Any] = field(default_factory=dict)
    chat_template_kwargs: dict[str, Any] = field(default_factory=lambda: {"enable_thinking": False})
    _llm: Any = field(default=None, init=False, repr=False)

    @property
    def name(self) -> str:
        return f"{self.model} (vLLM offline)"

    @property
    def llm(self) -> Any:
        if self._llm is None:
            try:
                from vllm import LLM
            except ImportError:
                raise UserError("--translator/--verifier without a URL needs vLLM: pip install 'xling-harness[vllm]'") from None
            try:
                self._llm = LLM(model=self.model, **self.engine_args)
            except TypeError as exc:  # an engine argument of the wrong kind
                raise UserError(f"--engine-args: vLLM refused them ({exc})") from None
            except OSError as exc:
                if exc.errno is not None:
                    raise  # the machine's (a full disk, a forbidden folder): reported as such
                raise UserError(f"vLLM could not load {self.model!r}: {str(exc).splitlines()[0]}") from None
        return self._llm

    def run(self, requests: Sequence[Request], on_reply: OnReply) -> None:
        from vllm import SamplingParams

        for start in range(0, len(requests), self.batch_size):
            batch = requests[start : start + self.batch_size]
            params = [SamplingParams(max_tokens=r.max_tokens, temperature=self.temperature) for r in batch]
            outputs = self.llm.chat([list(r.messages) for r in batch], params, use_tqdm=False,
                                    chat_template_kwargs=self.chat_template_kwargs)
            for request, output in zip(batch, outputs):
                completion = output.outputs[0]
                on_reply(request, Reply(completion.text, completion.finish_reason, len(output.prompt_token_ids or ()),
                                        len(completion.token_ids)))
