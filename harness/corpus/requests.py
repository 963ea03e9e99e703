"""What ``harness corpus build`` and ``harness corpus check`` accept, declared once (light: no
openai, no vLLM).

Each field declares one option with its bounds (:func:`harness.core.config.option`), and
``check()`` the rules between options; the command checks the request
(:func:`harness.core.config.check_fields`) before it reads the source or creates the output folder,
so a bad value is one sentence and exit code 2.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.config import option
from harness.core.errors import UserError, unknown
from harness.core.literals import TRANSLATION_PROMPTS, checked_languages

SOURCE_LANG = "en"
DEFAULT_TRANSLATOR = "Qwen/Qwen3-30B-A3B"  # the study's translator
TARGETS = tuple(TRANSLATION_PROMPTS)
"""The languages a translation prompt exists for."""
MAX_RETRIES = 100
MAX_BACKOFF = 60.0
"""The longest wait between retries, in seconds (:class:`harness.corpus.transport.OpenAIChat`)."""


def json_object(text: str, flag: str) -> dict[str, Any]:
    """``--engine-args`` / ``--extra-body``: a JSON object (empty text: none)."""
    try:
        value = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise UserError(f"{flag} must be a JSON object ({exc.msg})") from None
    if not isinstance(value, dict):
        raise UserError(f"{flag} must be a JSON object, e.g. '{{\"tensor_parallel_size\": 4}}'")
    return value


def languages(text: str) -> list[str]:
    """``--langs zh,de`` as a list."""
    return [p.strip() for p in text.split(",") if p.strip()]


def target_languages(text: str) -> list[str]:
    """``--langs`` of ``corpus build``: languages a translation prompt exists for, each once, not
    the source language; an unknown one is named with the closest valid one."""
    langs = languages(text)
    if not langs:
        raise UserError("--langs names no language (e.g. --langs zh,de)")
    if SOURCE_LANG in langs:
        raise UserError(f"--langs includes {SOURCE_LANG!r}, the source language: name the languages to translate into")
    return checked_languages(langs, "--langs", TARGETS, kind="target language")


def engine_keywords() -> set[str] | None:
    """The keyword arguments ``vllm.LLM`` takes (its own and ``EngineArgs``' fields), read from
    vLLM's source without importing it (that takes seconds and loads torch); None when vLLM is not
    installed or its source is laid out otherwise."""
    import ast
    import importlib.util

    try:
        spec = importlib.util.find_spec("vllm")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    root = Path(spec.origin).parent
    names: set[str] = set()
    try:
        for file, owner, method in (("engine/arg_utils.py", "EngineArgs", None), ("entrypoints/llm.py", "LLM", "__init__")):
            tree = ast.parse((root / file).read_text(encoding="utf-8"))
            cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == owner)
            if method is None:
                names |= {n.target.id for n in cls.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
            else:
                init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == method)
                names |= {a.arg for a in (*init.args.args, *init.args.kwonlyargs)} - {"self"}
    except (OSError, SyntaxError, StopIteration, UnicodeDecodeError):
        return None
    return names or None


def _not_a_folder(path: str | None, flag: str) -> None:
    if path is not None and Path(path).expanduser().exists() and not Path(path).expanduser().is_dir():
        raise UserError(f"{flag} {path} is a file, not a folder")


@dataclass
class BuildRequest:
    """``harness corpus build``."""

    source: str = option("", help="gsm8k, luffy, or a JSONL/JSON file in any schema --data reads.", nonempty=True)
    langs: list[str] = option([], help="Target languages, comma-separated (e.g. zh,de).", choices=TARGETS)
    translator: str = option(DEFAULT_TRANSLATOR, help="Translator model (served name with --translator-url).",
                             source="paper (unverified: secondary source)", nonempty=True)
    translator_url: str | None = option(None, help="OpenAI-compatible endpoint of the translator.", nonempty=True)
    verifier: str = option("none", help="Verifier model, or 'none' to skip check (5).",
                           source="harness choice: a verifier costs a second model; the study's is DeepSeek-V3",
                           nonempty=True)
    verifier_url: str | None = option(None, help="OpenAI-compatible endpoint of the verifier.", nonempty=True)
    translator_key_env: str = option("OPENAI_API_KEY", help="Environment variable holding the translator's API key.",
                                     source="harness choice: the openai client's variable", nonempty=True)
    verifier_key_env: str = option("OPENAI_API_KEY", help="Environment variable holding the verifier's API key.",
                                   source="harness choice: the openai client's variable", nonempty=True)
    out: str | None = option(None, help="Output folder (default: $HARNESS_CORPORA_DIR or ./corpora, then NAME).",
                             nonempty=True)
    name: str | None = option(None, help="Corpus name for --data NAME (default: SOURCE_LANGS_v1).", nonempty=True)
    limit: int | None = option(None, help="Translate only the first N source records.", ge=1)
    concurrency: int = option(32, help="Requests in flight per endpoint.",
                              source="harness choice: what one vLLM server batches well", ge=1)
    max_retries: int = option(6, help="Retries of a rate-limited or failing request before the run stops.",
                              source="harness choice: about a minute of backoff; at most 100 (over an hour and a "
                                     "half of a dead endpoint at the 60 s cap)", ge=0, le=MAX_RETRIES)
    backoff: float = option(1.0, help="First retry delay in seconds (doubles per retry).",
                            source="harness choice: doubled per retry up to the 60 s cap", ge=0, le=MAX_BACKOFF)
    chunk_chars: int = option(6000, help="Longest solution chunk sent in one request (characters).",
                              source="harness choice: a few paragraphs, well within a 4096-token reply", ge=1)
    max_tokens: int = option(4096, help="Token limit of one translation reply.",
                             source="harness choice: a 6000-character chunk translated fits", ge=1)
    engine_args: str = option("", help="JSON keyword arguments for vllm.LLM (offline engine).")
    extra_body: str = option("", help="JSON fields added to every endpoint request.")
    progress_every: float = option(10.0, help="Seconds between progress lines.",
                                   source="harness choice: a line every 10 s", ge=0)

    @property
    def verified(self) -> bool:
        return self.verifier.strip().lower() != "none"

    def check(self) -> None:
        target_languages(",".join(self.langs))
        for flag, url in (("--translator-url", self.translator_url), ("--verifier-url", self.verifier_url)):
            if url is not None and not url.strip().lower().startswith(("http://", "https://")):
                raise UserError(f"{flag} must be an http:// or https:// address (an OpenAI-compatible /v1 endpoint), "
                                f"got {url!r}")
        if self.verifier_url is not None and not self.verified:
            raise UserError("--verifier-url needs --verifier MODEL (the served name); --verifier none skips check (5)")
        offline = self.translator_url is None or (self.verified and self.verifier_url is None)
        online = self.translator_url is not None or (self.verified and self.verifier_url is not None)
        engine_args = json_object(self.engine_args, "--engine-args")
        extra_body = json_object(self.extra_body, "--extra-body")
        if engine_args and not offline:
            raise UserError("--engine-args configures vLLM's offline engine, which only a translator or verifier "
                            "without a URL runs")
        if "model" in engine_args:
            raise UserError("--engine-args must not set model: that is --translator (or --verifier)")
        known = engine_keywords() if engine_args else None
        for key in engine_args if known else ():
            if key not in known:
                raise unknown("vLLM engine argument", key, known, where="--engine-args")
        if extra_body and not online:
            raise UserError("--extra-body is sent to an endpoint: give --translator-url or --verifier-url")
        if self.name is not None and (Path(self.name).name != self.name or self.name in (".", "..")):
            raise UserError(f"--name {self.name!r} must be a folder name, not a path (set the folder with --out)")
        _not_a_folder(self.out, "--out")


@dataclass
class CheckRequest:
    """``harness corpus check``."""

    path: str = option("", help="A corpus folder or file.", nonempty=True)
    langs: str | None = option(None, help="Languages to check (default: all but the source language).", nonempty=True)
    source_lang: str = option(SOURCE_LANG, help="The language the others were translated from.",
                              source="harness choice: the study translated from English", nonempty=True)
    examples: int = option(2, help="Failure examples shown per check and language.",
                           source="harness choice: two show a pattern and fit a screen", ge=0)
    json: str | None = option(None, help="Also write the report as JSON here.", nonempty=True)

    def check(self) -> None:
        if self.langs is not None and not languages(self.langs):
            raise UserError(f"--langs names no language, got {self.langs!r}")
        if self.json is not None:
            target = Path(self.json).expanduser()
            if target.is_dir():
                raise UserError(f"--json {self.json} is a folder; name the file to write")
            if not target.parent.is_dir():
                raise UserError(f"--json {self.json}: folder {target.parent} does not exist")
