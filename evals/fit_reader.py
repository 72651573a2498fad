"""Fit the reader's weights: which sentence answers, by a score over measured signals.

Run it from the project folder:

    .venv/bin/python evals/fit_reader.py            # fit, then print the weights to paste
    .venv/bin/python evals/fit_reader.py --check    # only measure the weights in the code

Every answerable question of the tuning set (`evals/questions.jsonl`) and of the development
corpus (`evals/foreign/`) is read as the assistant reads it (its conversation resolved, the
passages retrieved, every sentence assessed, each scored in meaning too). A sentence is right
when its quote holds one of the question's gold answers. Among the sentences that pass the
reader's checks (`Support.answers`), the one with the best score leads the answer; the fit
looks for the weights (`assistant.answer.support.WEIGHTS`) under which it is right for the
most questions, one weight at a time over a grid, coverage fixed at 1. The test questions
(`evals/questions-test.jsonl`) are never fitted on: with `--report-test` their figure is
printed beside the others, to report.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.answer import grounding, support  # noqa: E402
from assistant.answer.support import WEIGHTS, quote_span  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.evaluation import _squeeze, corpus_services, load_questions  # noqa: E402
from assistant.models import Message  # noqa: E402
from assistant.serve.runtime import Services, limit_threads  # noqa: E402

GRID = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
FIXED = "coverage"


@dataclass(frozen=True)
class Candidate:
    features: dict[str, float]
    right: bool


def candidates(services: Services, path: Path) -> list[list[Candidate]]:
    """Per answerable question, its sentences that pass the checks, with their features."""
    assistant = services.assistant
    out = []
    for q in load_questions(path):
        if not q.answer:
            continue
        history = [Message("user", h) for h in q.history]
        resolved = assistant.resolve(q.question, history)
        hits = assistant.search(resolved.text)
        _, assessment = assistant.assess(resolved.text, hits, resolved.focus)
        gold = [_squeeze(g) for g in q.answer]
        row = [
            Candidate(
                s.features(),
                any(g in _squeeze(quote_span(s).text) for g in gold),
            )
            for s in assessment.candidates
            if s.answers
        ]
        out.append(row)
    return out


def right_share(sets: list[list[Candidate]], weights: dict[str, float]) -> float:
    """Share of questions whose best-scored sentence is right (first on ties, as read)."""
    right = 0
    for row in sets:
        if not row:
            continue
        best = max(row, key=lambda c: sum(weights[k] * v for k, v in c.features.items()))
        right += best.right
    return right / max(1, len(sets))


def fit(sets: list[list[Candidate]], start: dict[str, float], passes: int = 3) -> dict[str, float]:
    weights = dict(start)
    best = right_share(sets, weights)
    for _ in range(passes):
        improved = False
        for name in weights:
            if name == FIXED:
                continue
            for value in GRID:
                trial = {**weights, name: value}
                share = right_share(sets, trial)
                # Ties keep the smaller change: a weight moves only when it buys something.
                if share > best + 1e-9:
                    weights, best, improved = trial, share, True
        if not improved:
            break
    return weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="measure the weights in the code")
    parser.add_argument("--report-test", action="store_true", help="also report the test set")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    limit_threads()
    grounding.SHORTLIST = 10_000  # every sentence scored in meaning, so any may be promoted
    services = Services(Settings())
    foreign = corpus_services(services, ROOT / "evals" / "foreign" / "corpus")
    tuning = candidates(services, ROOT / "evals" / "questions.jsonl")
    dev = candidates(foreign, ROOT / "evals" / "foreign" / "questions.jsonl")
    test = candidates(services, ROOT / "evals" / "questions-test.jsonl") if args.report_test else []
    fitted = dict(WEIGHTS) if args.check else fit(tuning + dev, WEIGHTS)
    for name, weights in (("in the code", WEIGHTS), ("fitted", fitted)):
        if name == "fitted" and args.check:
            break
        print(
            f"{name:12} tuning {right_share(tuning, weights):.1%}  "
            f"foreign {right_share(dev, weights):.1%}"
            + (f"  test {right_share(test, weights):.1%}" if test else "")
        )
    reachable = [
        sum(any(c.right for c in row) for row in s) / max(1, len(s)) for s in (tuning, dev)
    ]
    print(
        f"right sentence among those passing the checks: tuning {reachable[0]:.1%}, "
        f"foreign {reachable[1]:.1%}"
    )
    print("WEIGHTS = {")
    for name, value in fitted.items():
        print(f'    "{name}": {value},')
    print("}")
    _ = support  # the module whose WEIGHTS the printout replaces


if __name__ == "__main__":
    main()
