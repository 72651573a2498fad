"""The web page as a visitor meets it: seconds from pressing 发送 to a finished, cited answer.

Run it from the project folder (after `make setup` and with Debian's chromium installed, as
`make test` does):

    .venv/bin/python evals/page.py                 # 20 questions
    .venv/bin/python evals/page.py --questions 40 --json

What it does, on loopback only (figures only, nothing is asserted):

1. Builds a temporary index of the shipped corpus and starts the server in its own process,
   as `evals/load.py` does.
2. Opens the page in headless Chromium at phone width and asks answerable questions of
   `evals/questions.jsonl` one after another, timing each from the click on 发送 until the
   finished answer (with its citation cards) is on the page.
3. Asks the same questions through `POST /v1/chat` in the same run: the baseline, so the
   page's own cost (Gradio's queue and streaming, rendering) shows as a ratio.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from bench import latency_stats, load_average  # evals/ is on the path when run as a script
from load import free_port, start_server, stop_server, wait_healthy

from assistant.config import PROJECT_DIR, load_settings
from assistant.evaluation import DEFAULT_QUESTIONS, load_questions
from assistant.serve.runtime import Services, limit_threads

BROWSER_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--no-first-run",
]
FINISHED = ".pa-answer:not(.pa-pending)"


def run(count: int, questions_path: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium is not installed: apt-get install chromium fonts-noto-cjk")
    questions = [
        q.question
        for q in load_questions(questions_path)
        if q.answerable and not q.history and q.lang == "zh"
    ][:count]
    limit_threads()
    with tempfile.TemporaryDirectory(prefix="page-bench-") as name:
        tmp = Path(name)
        Services(
            load_settings(corpus_dir=PROJECT_DIR / "corpus", index_dir=tmp / "index")
        ).store.ingest()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        process, log_path = start_server(tmp, port)
        try:
            startup = wait_healthy(process, base, log_path)
            with httpx.Client(base_url=base, timeout=60) as client:
                api = []
                for q in questions:
                    started = time.perf_counter()
                    r = client.post("/v1/chat", json={"messages": [{"role": "user", "content": q}]})
                    r.raise_for_status()
                    api.append(time.perf_counter() - started)
            page_times, cited = [], 0
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
                page = browser.new_page(viewport={"width": 390, "height": 844})
                page.goto(base + "/")
                page.wait_for_selector("#pa-question textarea")
                for q in questions:
                    before = page.locator(FINISHED).count()
                    page.fill("#pa-question textarea", q)
                    started = time.perf_counter()
                    page.click("#pa-send")
                    page.wait_for_function(
                        f"n => document.querySelectorAll({json.dumps(FINISHED)}).length > n",
                        arg=before,
                    )
                    page_times.append(time.perf_counter() - started)
                    cited += page.locator(FINISHED).last.locator(".pa-card").count() > 0
                browser.close()
        finally:
            stop_server(process)
    page_stats, api_stats = latency_stats(page_times), latency_stats(api)
    return {
        "questions": len(questions),
        "with_citation_cards": cited,
        "server_start_s": round(startup, 1),
        "page": page_stats,
        "api": api_stats,
        "ratio_median": page_stats["median_ms"] / api_stats["median_ms"],
        "load_average": load_average(),
    }


def format_table(r: dict[str, Any]) -> str:
    lines = [
        f"page answers: {r['questions']} questions, {r['with_citation_cards']} with citation "
        f"cards (server ready in {r['server_start_s']} s)",
        f"{'':28}{'median':>10}{'p95':>10}",
        f"{'page (click → cited answer)':28}{r['page']['median_ms']:>8.0f}ms"
        f"{r['page']['p95_ms']:>8.0f}ms",
        f"{'API /v1/chat (baseline)':28}{r['api']['median_ms']:>8.0f}ms"
        f"{r['api']['p95_ms']:>8.0f}ms",
        f"page / API median: {r['ratio_median']:.2f}×",
    ]
    if r["load_average"] is not None:
        lines.append(f"load average during the run: {r['load_average']:.2f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--question-set", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.questions, args.question_set)
    print(json.dumps(result, ensure_ascii=False) if args.json else format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
