"""``harness corpus build``: translate a source corpus with an LLM and verify every record.

The run, in four steps, each resumable from the journal (:mod:`harness.corpus.journal`):

1. translate: the question and the solution of every record into every target language; long
   solutions in chunks cut at paragraph boundaries (:mod:`harness.corpus.chunking`);
2. the cheap checks (1)-(4) of :mod:`harness.corpus.checks` on every translated record, length
   bounds learned from all of them;
3. the verifier model on the records that passed (5): faithful, complete, in the target language;
4. the outputs: ``<lang>.jsonl`` per language (the source language too) in the corpus schema,
   ``rejected.jsonl`` (every record that failed, with the failing check and its evidence) and
   ``manifest.json`` (models, prompts, counts per check and language, tokens, cost).

Replies are journaled as they arrive; the outputs are rewritten from the journal at the end of
each run, so a killed run loses only requests in flight and a rerun sends nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.errors import UserError
from harness.corpus import checks
from harness.plugins.corpora import CORPUS_KIND, MANIFEST
from harness.corpus.chunking import join_chunks, split_chunks
from harness.corpus.journal import Journal, request_key
from harness.corpus.transport import ChatClient, Failed, OpenAIChat, Reply, Request, VLLMOffline

log = logging.getLogger("harness.corpus")

SOURCE_LANG = "en"
REJECTED = "rejected.jsonl"
JOURNAL = ".cache/replies.jsonl"


@dataclass
class Endpoint:
    """A translator or verifier: a model for vLLM's offline engine, or one served at ``url``."""

    model: str
    url: str | None = None
    key_env: str = "OPENAI_API_KEY"
    concurrency: int = 32
    engine_args: dict[str, Any] = field(default_factory=dict)
    extra_body: dict[str, Any] = field(default_factory=dict)
    max_retries: int = 6
    backoff: float = 1.0

    def client(self) -> ChatClient:
        if self.url:
            return OpenAIChat(self.url, self.model, api_key_env=self.key_env, concurrency=self.concurrency,
                              extra_body=self.extra_body, max_retries=self.max_retries, backoff=self.backoff)
        return VLLMOffline(self.model, engine_args=self.engine_args)

    def describe(self) -> dict:
        return {"model": self.model, "url": self.url, "key_env": self.key_env if self.url else None}


@dataclass
class BuildConfig:
    source: str
    langs: list[str]
    out: Path
    name: str
    translator: Endpoint
    verifier: Endpoint | None
    limit: int | None = None
    chunk_chars: int = 6000
    max_tokens: int = 4096
    verify_max_tokens: int = 512
    progress_every: float = 10.0
    length_bounds: dict = field(default_factory=dict)
    """Learned in step 2 (see :func:`harness.corpus.checks.learn_bounds`)."""


# --- requests ------------------------------------------------------------------------------------


def _messages(system: str, user: str) -> tuple[dict, ...]:
    return ({"role": "system", "content": system}, {"role": "user", "content": user})


def translation_requests(record: dict, lang: str, cfg: BuildConfig) -> dict[str, list[tuple[str, Request | None]]]:
    """{field: [(source chunk, its request)]} (no request for a blank chunk) for one record and
    language."""
    from harness.core.literals import translation_prompts

    prompts = translation_prompts(lang)
    pieces = {"question": [record["question"]],
              "solution": split_chunks(record["solution"], cfg.chunk_chars) if record.get("solution") else []}
    plan: dict[str, list[tuple[str, Request | None]]] = {}
    for name, texts in pieces.items():
        plan[name] = []
        for text in texts:
            if not text.strip():
                plan[name].append((text, None))
                continue
            messages = _messages(prompts.system, prompts.translate.format(text=text.strip()))
            key = request_key("translate", cfg.translator.model, list(messages), max_tokens=cfg.max_tokens)
            plan[name].append((text, Request(key, messages, cfg.max_tokens)))
    return plan


def plan_requests(plan: dict) -> list[Request]:
    return [request for pieces in plan.values() for _, request in pieces if request is not None]


def _without_reasoning(reply: str, source: str) -> str:
    """The translation without a reasoning block the model added (Qwen3 thinks unless told not
    to); a ``<think>`` the source itself has (LUFFY's traces) is content and stays."""
    if "</think>" in reply and "<think>" not in source:
        reply = reply.rsplit("</think>", 1)[1]
    return reply.strip()


def assemble(record: dict, lang: str, plan: dict, journal: Journal) -> tuple[dict | None, checks.CheckResult | None]:
    """The translated record from journaled replies, or the transport/truncation failure."""
    target = {"id": record["id"], "lang": lang, "answer": record["answer"],
              "answer_kind": record.get("answer_kind", "number"), "source": record.get("source", "")}
    for name, pieces in plan.items():
        texts = []
        for index, (source_text, request) in enumerate(pieces):
            if request is None:
                continue
            entry = journal.get(request.key)
            if "error" in entry:
                return None, checks.CheckResult("transport", False, {"field": name, "chunk": index, "error": entry["error"]})
            if entry.get("finish_reason") == "length":
                return None, checks.CheckResult("truncated", False, {"field": name, "chunk": index,
                                                                      "completion_tokens": entry["completion_tokens"]})
            texts.append(_without_reasoning(entry["text"], source_text))
        target[name] = join_chunks(texts)
    return target, None


def verify_request(record: dict, target: dict, cfg: BuildConfig) -> Request:
    from harness.core.literals import translation_prompts

    def render(r: dict) -> str:
        return f"Question:\n{r['question']}\n\nSolution:\n{r.get('solution', '')}"

    prompts = translation_prompts(target["lang"])
    messages = ({"role": "user", "content": prompts.verify.format(source=render(record), translation=render(target))},)
    key = request_key("verify", cfg.verifier.model, list(messages), max_tokens=cfg.verify_max_tokens)
    return Request(key, messages, cfg.verify_max_tokens)


_JSON_OBJECT = re.compile(r"\{[^{}]*\}", re.S)


def verifier_result(entry: dict) -> checks.CheckResult:
    """Check (5) from the verifier's reply: every judgement true; an unreadable reply fails."""
    if "error" in entry:
        return checks.CheckResult("verifier", False, {"error": entry["error"]})
    for candidate in reversed(_JSON_OBJECT.findall(entry.get("text") or "")):
        try:
            judgement = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        keys = ("faithful", "complete", "in_target_language")
        if isinstance(judgement, dict) and all(k in judgement for k in keys):
            passed = all(judgement[k] is True for k in keys)
            return checks.CheckResult("verifier", passed, {k: judgement.get(k) for k in (*keys, "reason")})
    return checks.CheckResult("verifier", False, {"problem": "no JSON judgement in the reply",
                                                  "reply": (entry.get("text") or "")[:300]})


# --- the run -------------------------------------------------------------------------------------


class Progress:
    """Records per second, acceptance so far per language, ETA: one line every few seconds."""

    def __init__(self, step: str, total: int, every: float, console: Any):
        self.step, self.total, self.every, self.console = step, total, every, console
        self.done, self.start, self.last = 0, time.monotonic(), 0.0
        self.passed: Counter = Counter()
        self.seen: Counter = Counter()

    def tick(self, lang: str, passed: bool, force: bool = False) -> None:
        self.done += 1
        self.seen[lang] += 1
        self.passed[lang] += passed
        now = time.monotonic()
        if force or now - self.last >= self.every or self.done == self.total:
            self.last = now
            rate = self.done / max(now - self.start, 1e-9)
            eta = (self.total - self.done) / rate if rate else float("inf")
            accept = " ".join(f"{k} {self.passed[k] / self.seen[k]:.0%}" for k in sorted(self.seen))
            self.console.print(f"{self.step}: {self.done}/{self.total} records, {rate:.2f}/s, ETA {eta:.0f}s, "
                               f"passing so far {accept}", highlight=False)


def load_source(cfg: BuildConfig) -> list[dict]:
    from harness.data.corpora import load_corpus

    records = load_corpus(cfg.source, [SOURCE_LANG], n=cfg.limit)
    ids = Counter(r["id"] for r in records)
    duplicated = [i for i, n in ids.items() if n > 1]
    if duplicated:
        raise UserError(f"source {cfg.source!r} has {len(duplicated)} duplicated ids (e.g. {duplicated[0]!r})")
    return records


def _send(client: ChatClient, journal: Journal, role: str, requests: list[Request], on_done: Any = None) -> None:
    todo = list({r.key: r for r in requests if r.key not in journal}.values())
    log.info("%s: %d requests, %d cached", role, len(todo), len(set(r.key for r in requests)) - len(todo))

    def on_reply(request: Request, reply: Reply | Failed) -> None:
        journal.add(request.key, role, reply)
        if on_done is not None:
            on_done(request)

    client.run(todo, on_reply)


def build(cfg: BuildConfig, console: Any) -> dict:
    """Run (or resume) a build; returns the manifest."""
    records = load_source(cfg)
    cfg.out.mkdir(parents=True, exist_ok=True)
    journal = Journal(cfg.out / JOURNAL)
    translator = cfg.translator.client()
    # One offline engine when the verifier is the translator's model: two would not fit one GPU.
    same = cfg.verifier is not None and (cfg.verifier.model, cfg.verifier.url) == (cfg.translator.model, cfg.translator.url)
    try:
        plans = {(r["id"], lang): translation_requests(r, lang, cfg) for r in records for lang in cfg.langs}
        translated = _translate(cfg, records, plans, journal, translator, console)
        results = _cheap_checks(records, translated, cfg)
        if cfg.verifier is not None:
            verifier = translator if same else cfg.verifier.client()
            _verify(cfg, records, translated, results, journal, verifier, console)
        return write_outputs(cfg, records, translated, results, journal)
    finally:
        journal.close()


def _translate(cfg: BuildConfig, records: list[dict], plans: dict, journal: Journal, client: ChatClient,
               console: Any) -> dict:
    by_id = {r["id"]: r for r in records}
    waiting: dict[str, set] = {}  # request key -> (id, lang) it belongs to
    pending: Counter = Counter()
    for unit, plan in plans.items():
        for request in plan_requests(plan):
            if request.key not in journal:
                waiting.setdefault(request.key, set()).add(unit)
                pending[unit] += 1
    progress = Progress("translate", len([u for u in plans if pending[u]]), cfg.progress_every, console)

    def on_done(request: Request) -> None:
        for unit in waiting.pop(request.key, ()):
            pending[unit] -= 1
            if pending[unit] == 0:  # the record is complete: the checks that need no bounds
                target, problem = assemble(by_id[unit[0]], unit[1], plans[unit], journal)
                ok = problem is None and all(c.passed for c in (checks.check_answer(by_id[unit[0]], target),
                                                                checks.check_numbers(by_id[unit[0]], target)))
                progress.tick(unit[1], ok)

    requests = [r for plan in plans.values() for r in plan_requests(plan)]
    _send(client, journal, "translate", requests, on_done)
    return {unit: assemble(by_id[unit[0]], unit[1], plan, journal) for unit, plan in plans.items()}


def _cheap_checks(records: list[dict], translated: dict, cfg: BuildConfig) -> dict[tuple, list]:
    by_id = {r["id"]: r for r in records}
    samples = [(unit[1], name, ratio) for unit, (target, _) in translated.items() if target is not None
               for name, ratio in checks.length_ratios(by_id[unit[0]], target).items()]
    cfg.length_bounds = checks.learn_bounds(samples)
    results = {}
    for unit, (target, problem) in translated.items():
        if problem is not None:
            results[unit] = [problem]
        else:
            results[unit] = checks.verify(by_id[unit[0]], target, unit[1], cfg.length_bounds).results
    return results


def _verify(cfg: BuildConfig, records: list[dict], translated: dict, results: dict, journal: Journal,
            client: ChatClient, console: Any) -> None:
    by_id = {r["id"]: r for r in records}
    units = [u for u, rs in results.items() if all(r.passed for r in rs)]
    requests = {u: verify_request(by_id[u[0]], translated[u][0], cfg) for u in units}
    owners: dict[str, list] = {}
    for unit, request in requests.items():
        owners.setdefault(request.key, []).append(unit)
    progress = Progress("verify", len([u for u in units if requests[u].key not in journal]), cfg.progress_every, console)

    def on_done(request: Request) -> None:
        for unit in owners.get(request.key, ()):
            progress.tick(unit[1], verifier_result(journal.get(request.key)).passed)

    _send(client, journal, "verify", list(requests.values()), on_done)
    for unit, request in requests.items():
        results[unit].append(verifier_result(journal.get(request.key)))


# --- outputs -------------------------------------------------------------------------------------

CHECK_ORDER = ("transport", "truncated", *checks.CHECKS, "verifier")


def _corpus_record(record: dict, lang: str) -> dict:
    keys = ("id", "lang", "question", "solution", "answer", "answer_kind", "source")
    out = {k: record.get(k, "") for k in keys}
    out["lang"], out["answer_kind"] = lang, record.get("answer_kind", "number")
    return out


def write_outputs(cfg: BuildConfig, records: list[dict], translated: dict, results: dict, journal: Journal) -> dict:
    from harness.core.rundir import atomic_write_json, atomic_write_text

    kept: dict[str, list[dict]] = {lang: [] for lang in cfg.langs}
    rejected: list[dict] = []
    counts = {lang: {c: {"checked": 0, "passed": 0} for c in CHECK_ORDER} for lang in cfg.langs}
    for record in records:
        for lang in cfg.langs:
            unit = (record["id"], lang)
            for result in results[unit]:
                counts[lang][result.check]["checked"] += 1
                counts[lang][result.check]["passed"] += result.passed
            failures = [r for r in results[unit] if not r.passed]
            target = translated[unit][0]
            if not failures:
                kept[lang].append(_corpus_record(target, lang))
                continue
            rejected.append({"id": record["id"], "lang": lang, "check": failures[0].check,
                             "evidence": failures[0].evidence, "failures": [f.as_dict() for f in failures],
                             "question": (target or {}).get("question"), "solution": (target or {}).get("solution")})
    files = {SOURCE_LANG: f"{SOURCE_LANG}.jsonl", **{lang: f"{lang}.jsonl" for lang in cfg.langs}}
    rows = {SOURCE_LANG: [_corpus_record(r, SOURCE_LANG) for r in records], **kept}
    for lang, name in files.items():
        atomic_write_text(cfg.out / name, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[lang]))
    atomic_write_text(cfg.out / REJECTED, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rejected))
    for lang in cfg.langs:
        counts[lang] = {c: v for c, v in counts[lang].items() if v["checked"]}
        counts[lang].update(records=len(records), accepted=len(kept[lang]), rejected=len(records) - len(kept[lang]))
    manifest = _manifest(cfg, records, counts, files, journal)
    atomic_write_json(cfg.out / MANIFEST, manifest)
    return manifest


def _manifest(cfg: BuildConfig, records: list[dict], counts: dict, files: dict, journal: Journal) -> dict:
    from harness.core.literals import TRANSLATION_PROMPTS
    from harness.core.rundir import git_commit, package_versions

    usage: dict[str, dict] = {}
    for entry in journal.entries.values():
        role = usage.setdefault(entry["role"], {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost": None})
        role["requests"] += 1
        role["prompt_tokens"] += entry.get("prompt_tokens") or 0
        role["completion_tokens"] += entry.get("completion_tokens") or 0
        if entry.get("cost") is not None:
            role["cost"] = (role["cost"] or 0.0) + entry["cost"]
    prompts = {lang: vars(TRANSLATION_PROMPTS[lang]) for lang in cfg.langs}
    return {
        "kind": CORPUS_KIND, "name": cfg.name, "status": "finished", "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "source": cfg.source, "split": "train", "source_lang": SOURCE_LANG, "languages": [SOURCE_LANG, *cfg.langs], "files": files,
        "rejected": REJECTED, "source_records": len(records), "limit": cfg.limit,
        "translator": cfg.translator.describe(), "verifier": cfg.verifier.describe() if cfg.verifier else None,
        "prompts": prompts,
        "prompts_sha256": hashlib.sha256(json.dumps(prompts, sort_keys=True).encode()).hexdigest()[:16],
        "chunk_chars": cfg.chunk_chars, "max_tokens": cfg.max_tokens,
        "length_bounds": {f"{lang}/{name}": list(b) for (lang, name), b in cfg.length_bounds.items()},
        "counts": counts, "usage": usage, "harness_commit": git_commit(), "versions": package_versions(("xling-harness", "vllm", "openai")),
        "command_cwd": os.getcwd(),
    }

