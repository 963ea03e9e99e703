"""The endpoint client against a real OpenAI-compatible HTTP server (a subprocess on 127.0.0.1)."""

from __future__ import annotations

import pytest

from harness.corpus.transport import EndpointDown, Failed, OpenAIChat, Reply, Request
from tests.fixtures.corpus import chat_server

PROMPT = "Translate the text below from English into German.\nOutput only the translation.\n\n{}"


def requests(*texts: str) -> list[Request]:
    return [Request(f"k{i}", ({"role": "user", "content": PROMPT.format(t)},), 64) for i, t in enumerate(texts)]


def collect(client: OpenAIChat, batch: list[Request]) -> dict[str, Reply | Failed]:
    got: dict[str, Reply | Failed] = {}
    client.run(batch, lambda request, reply: got.__setitem__(request.key, reply))
    return got


def test_rate_limited_requests_are_retried_until_they_succeed(server):
    _, url, log = server("--rate-limit-first", "3")
    client = OpenAIChat(url, "fake", concurrency=2, backoff=0.01)
    got = collect(client, requests("Lena starts with 12 apples.", "The answer is \\boxed{42}."))
    assert got["k0"].text == "Lena hat am Anfang 12 Äpfel." and got["k1"].text == "Die Antwort ist \\boxed{42}."
    assert sum(r.attempts for r in got.values()) == 5  # 3 answered 429, then both succeeded
    assert len(chat_server.events(log, "429")) == 3
    assert got["k0"].prompt_tokens > 0 and got["k0"].cost == 0.001 and got["k0"].finish_reason == "stop"


def test_a_refused_request_is_not_retried_and_the_others_go_on(server):
    _, url, log = server("--refuse", "apples")
    got = collect(OpenAIChat(url, "fake", backoff=0.01), requests("Lena starts with 12 apples.", "The answer is \\boxed{42}."))
    assert isinstance(got["k0"], Failed) and got["k0"].status == 400 and got["k0"].attempts == 1
    assert isinstance(got["k1"], Reply)
    assert len(chat_server.events(log, "request")) == 2  # the 400 was sent once


def test_a_dead_server_stops_the_run_after_the_retries(server):
    process, url, log = server("--die-after", "1", "--delay", "0.2")
    client = OpenAIChat(url, "fake", concurrency=1, backoff=0.01, max_retries=2)
    got: dict = {}
    with pytest.raises(EndpointDown, match="still failing after 3 attempts.*rerun the same command to resume"):
        client.run(requests("Lena starts with 12 apples.", "The answer is \\boxed{42}."),
                   lambda request, reply: got.__setitem__(request.key, reply))
    assert list(got) == ["k0"]  # what finished before the crash was handed over
