"""Retrieval and answer quality: the tuning set on the shipped corpus, and the sets nothing was
tuned on (the test set, and the foreign corpus with its own questions).

The thresholds sit a little under what the current pipeline measures, so a change that makes
quality worse fails here; `policy-assistant eval` prints the full table. The test and foreign
thresholds are floors for what is measured on them, never targets to fit: their questions are
read only to report.
"""

from __future__ import annotations

from collections import Counter

import pytest

from assistant.config import PROJECT_DIR, load_settings
from assistant.evaluation import (
    DEFAULT_QUESTIONS,
    SETS,
    load_questions,
    run_answer_evaluation,
    run_eligibility_evaluation,
    run_evaluation,
)
from assistant.ingest.loading import load_document
from assistant.search.index import policy_files
from assistant.serve.runtime import Services


def test_question_set_is_broad_and_its_evidence_is_in_the_corpus() -> None:
    questions = load_questions(DEFAULT_QUESTIONS)
    corpus_dir = PROJECT_DIR / "corpus"
    files = policy_files(load_settings(corpus_dir=corpus_dir), [corpus_dir])
    bodies = [load_document(p, corpus_dir).text for p in files]
    assert len(questions) >= 50
    assert len({q.id for q in questions}) == len(questions)
    scopes = Counter(q.scope for q in questions if q.answerable)
    assert scopes["district"] >= 30 and scopes["law"] >= 15 and scopes["mixed"] >= 3
    assert sum(q.lang == "en" for q in questions) >= 6
    assert sum(not q.answerable for q in questions) >= 8
    for q in questions:
        for group in q.evidence:
            for alt in group:
                assert any(alt in body for body in bodies), (q.id, alt)


@pytest.mark.slow
def test_hybrid_retrieval_meets_its_quality_bar(shipped_services: Services) -> None:
    report = run_evaluation(
        shipped_services, load_questions(DEFAULT_QUESTIONS), with_baseline=False
    )
    groups = report["groups"]
    hybrid = {name: g["hybrid"] for name, g in groups.items()}
    assert hybrid["all"]["recall@5"] >= 0.95, report["hybrid_misses"]
    assert hybrid["district"]["recall@5"] >= 0.95
    assert hybrid["district"]["mrr"] >= 0.84
    assert hybrid["district"]["context@5"] < 600
    assert hybrid["law"]["recall@5"] >= 0.92
    assert hybrid["law"]["mrr"] >= 0.82
    assert hybrid["english"]["recall@5"] >= 0.80
    # Fusion must beat either ranking alone.
    for single in ("bm25", "dense"):
        assert hybrid["all"]["mrr"] > groups["all"][single]["mrr"]


@pytest.mark.slow
def test_answers_lead_with_the_gold_answer_and_abstain_when_the_documents_are_silent(
    shipped_services: Services,
) -> None:
    report = run_answer_evaluation(shipped_services, load_questions(DEFAULT_QUESTIONS))
    lead = {group: data["share"] for group, data in report["lead"].items()}
    misses = report["misses"]
    assert lead["district"] >= 0.87, misses
    assert lead["law"] >= 0.82, misses
    assert lead["follow-up"] >= 0.9, misses
    # Of the unanswerable questions added last (l131–l140, n201–n220, n301–n316,
    # n401–n420), several are answered with the article that is there and a line saying the
    # figure asked is not (技术转让所得 … 未载明最高额度): no figure is invented, but the
    # answer is no abstention. The floor is what is measured, so a regression shows.
    assert report["abstention_recall"] >= 0.78, misses
    assert report["false_abstention"] <= 0.05, misses
    # Never negotiable: quotes are the source text, and no figure lacks a citation.
    assert report["quotes_exact"] == 1.0
    assert report["figures_grounded"] == 1.0


@pytest.mark.slow
def test_eligibility_verdicts_match_the_expected_ones_for_json_and_chat_profiles(
    shipped_services: Services,
) -> None:
    report = run_eligibility_evaluation(shipped_services)
    assert report["checks"] >= 50
    assert report["json"] >= 0.95, report["misses"]
    assert report["chat"] >= 0.85, report["misses"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "recall", "lead"),
    [("test", 0.94, 0.70), ("foreign", 0.92, 0.72)],
)
def test_sets_nobody_tuned_on_keep_their_floor(
    shipped_services: Services,
    foreign_services: Services,
    name: str,
    recall: float,
    lead: float,
) -> None:
    [one] = [s for s in SETS if s.name == name]
    services = foreign_services if one.corpus else shipped_services
    questions = load_questions(one.questions)
    retrieval = run_evaluation(services, questions, with_baseline=False)
    answers = run_answer_evaluation(services, questions)
    assert retrieval["groups"]["all"]["hybrid"]["recall@5"] >= recall, retrieval["hybrid_misses"]
    assert answers["lead"]["all"]["share"] >= lead, answers["misses"]
    assert answers["quotes_exact"] == 1.0
