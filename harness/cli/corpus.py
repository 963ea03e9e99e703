"""``harness corpus build`` and ``harness corpus check`` (a typer sub-app; light imports only)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.cli.common import app, declares
from harness.core.config import check_fields, flag_name
from harness.corpus.requests import DEFAULT_TRANSLATOR, BuildRequest, CheckRequest, json_object, languages, target_languages

corpus_app = typer.Typer(help="Build translated parallel training corpora and check existing ones.",
                         no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")

declares("corpus build", BuildRequest,
         example=["--source", "toy", "--langs", "de", "--translator-url", "http://127.0.0.1:9/v1", "--max-retries", "0"])
declares("corpus check", CheckRequest, example=["@CORPUS"])


@corpus_app.command("build")
def build_command(
    source: Annotated[str, typer.Option(help="gsm8k, luffy, or a JSONL/JSON file in any schema --data reads.")],
    langs: Annotated[str, typer.Option(help="Target languages, comma-separated (e.g. zh,de).")],
    translator: Annotated[str, typer.Option(help="Translator model (served name with --translator-url).")] = DEFAULT_TRANSLATOR,
    translator_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible endpoint of the translator (default: vLLM offline engine).")] = None,
    verifier: Annotated[str, typer.Option(help="Verifier model (served name with --verifier-url), or 'none' to skip check (5).")] = "none",
    verifier_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible endpoint of the verifier (e.g. https://api.deepseek.com/v1).")] = None,
    translator_key_env: Annotated[str, typer.Option(help="Environment variable holding the translator endpoint's API key.")] = "OPENAI_API_KEY",
    verifier_key_env: Annotated[str, typer.Option(help="Environment variable holding the verifier endpoint's API key.")] = "OPENAI_API_KEY",
    out: Annotated[Optional[str], typer.Option(help="Output folder (default: $HARNESS_CORPORA_DIR or ./corpora, then NAME).")] = None,
    name: Annotated[Optional[str], typer.Option(help="Corpus name for --data NAME (default: SOURCE_LANGS_v1).")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Translate only the first N source records.")] = None,
    concurrency: Annotated[int, typer.Option(help="Requests in flight per endpoint (at least 1).")] = 32,
    max_retries: Annotated[int, typer.Option(help="Retries of a rate-limited or failing request before the run stops (0 to 100).")] = 6,
    backoff: Annotated[float, typer.Option(help="First retry delay in seconds (doubles per retry, up to 60 s).")] = 1.0,
    chunk_chars: Annotated[int, typer.Option(help="Longest solution chunk sent in one request (characters).")] = 6000,
    max_tokens: Annotated[int, typer.Option(help="Token limit of one translation reply.")] = 4096,
    engine_args: Annotated[str, typer.Option(help="JSON keyword arguments for vllm.LLM (offline engine).")] = "",
    extra_body: Annotated[str, typer.Option(help="JSON fields added to every endpoint request (e.g. chat_template_kwargs).")] = "",
    progress_every: Annotated[float, typer.Option(help="Seconds between progress lines.")] = 10.0,
) -> None:
    """Translate a corpus into LANGS with an LLM, verify every record, write a named corpus."""
    request = BuildRequest(
        source=source, langs=target_languages(langs), translator=translator, translator_url=translator_url, verifier=verifier,
        verifier_url=verifier_url, translator_key_env=translator_key_env, verifier_key_env=verifier_key_env, out=out,
        name=name, limit=limit, concurrency=concurrency, max_retries=max_retries, backoff=backoff,
        chunk_chars=chunk_chars, max_tokens=max_tokens, engine_args=engine_args, extra_body=extra_body,
        progress_every=progress_every)
    check_fields(request)  # before the source is read or the output folder made

    from rich.console import Console

    from harness.corpus.build import BuildConfig, Endpoint, build
    from harness.plugins.corpora import corpora_dir

    targets = request.langs
    stem = Path(source).stem if Path(source).suffix else Path(source).name
    name = name or f"{stem}_{'_'.join(targets)}_v1"
    shared = dict(concurrency=concurrency, max_retries=max_retries, backoff=backoff,
                  engine_args=json_object(engine_args, "--engine-args"), extra_body=json_object(extra_body, "--extra-body"))
    cfg = BuildConfig(
        source=source, langs=targets, out=Path(out).expanduser() if out else corpora_dir() / name, name=name,
        translator=Endpoint(translator, translator_url, translator_key_env, **shared),
        verifier=Endpoint(verifier, verifier_url, verifier_key_env, **shared) if request.verified else None,
        limit=limit, chunk_chars=chunk_chars, max_tokens=max_tokens, progress_every=progress_every,
    )
    console = Console(stderr=True)
    manifest = build(cfg, console)
    out_console = Console()
    for lang, counts in manifest["counts"].items():
        failed = ", ".join(f"{c} {v['checked'] - v['passed']}" for c, v in counts.items()
                           if isinstance(v, dict) and v["checked"] > v["passed"])
        out_console.print(f"{lang}: {counts['accepted']}/{counts['records']} accepted"
                          f"{' (rejected: ' + failed + ')' if failed else ''}", highlight=False)
    out_console.print(f"corpus {name!r}: {cfg.out}", highlight=False, soft_wrap=True)


@corpus_app.command("check")
def check_command(
    path: Annotated[str, typer.Argument(help="A corpus folder or file (built corpus, MGSM folder, MathOctopus JSON, JSONL).")],
    langs: Annotated[Optional[str], typer.Option(help="Languages to check (default: all but the source language).")] = None,
    source_lang: Annotated[str, typer.Option(help="The language the others were translated from.")] = "en",
    examples: Annotated[int, typer.Option(help="Failure examples shown per check and language.")] = 2,
    json: Annotated[Optional[str], typer.Option("--json", help="Also write the report as JSON here.")] = None,
) -> None:
    """Run checks (1)-(4) on a parallel corpus: pass rates per language, examples of each failure."""
    request = CheckRequest(path=path, langs=langs, source_lang=source_lang, examples=examples, json=json)
    check_fields(request, name=lambda n: "PATH" if n == "path" else flag_name(n))  # before the corpus is read
    json_out = Path(json).expanduser() if json is not None else None
    from json import dumps

    from rich.console import Console
    from rich.table import Table

    from harness.corpus import audit
    from harness.corpus.checks import CHECKS

    reports = audit.audit(audit.read_parallel(Path(path).expanduser()), source_lang=source_lang,
                          langs=languages(langs) if langs is not None else None, examples=examples)
    rows = audit.as_rows(reports)
    table = Table("lang", "records", *CHECKS, "all", title=f"corpus check: {path}")
    for row in rows:
        table.add_row(row["lang"], str(row["records"]), *(f"{row[c]:.1%}" for c in (*CHECKS, "all")))
    console = Console()
    console.print(table)
    for report in reports:
        for check, found in report.examples.items():
            for example in found:
                console.print(f"  {report.lang} {check}: {dumps(example, ensure_ascii=False)}", highlight=False,
                              soft_wrap=True)
    if json_out is not None:
        json_out.write_text(dumps({"rows": rows, "examples": {r.lang: r.examples for r in reports}},
                                       ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
