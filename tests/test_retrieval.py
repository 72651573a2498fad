"""Retrieval logic: BM25, rank fusion, duplicate collapse, and hybrid search on a real index."""

from __future__ import annotations

import pytest

from assistant.search.bm25 import BM25
from assistant.search.retrieval import collapse_duplicates, quotes, reciprocal_rank_fusion
from assistant.serve.runtime import Services


def test_bm25_prefers_the_rare_term_and_honours_weights() -> None:
    index = BM25([["高企", "补贴"], ["高企", "税率"], ["孵化器", "补贴"], ["高企"]])
    assert index.top({"税率": 1.0}, 5) == [(1, pytest.approx(index.scores({"税率": 1})[1]))]
    ranked = [i for i, _ in index.top({"高企": 1.0, "补贴": 1.0}, 5)]
    assert ranked[0] == 0
    assert index.top({"不存在": 1.0}, 5) == []
    low = index.scores({"税率": 0.5})[1]
    assert low == pytest.approx(index.scores({"税率": 1.0})[1] / 2)


def test_rank_fusion_rewards_agreement_between_rankings() -> None:
    fused = reciprocal_rank_fusion([([1, 2, 3], 1.0), ([3, 2, 4], 1.0)], k=60)
    assert {item for item, _ in fused[:2]} == {2, 3}
    assert {item for item, _ in fused} == {1, 2, 3, 4}


def test_near_duplicates_collapse_to_the_better_ranked() -> None:
    texts = [
        "按照梯度培育体系开展针对性培育扶持。",
        "按照梯度培育体系,开展针对性培育扶持。",
        "有效高企数达1164家。",
    ]
    assert collapse_duplicates([1, 0, 2], texts, threshold=0.85) == [1, 2]


def test_a_clause_in_force_is_not_collapsed_into_the_superseded_clause_it_replaced() -> None:
    texts = [  # FICTIONAL: an old clause and the clause in force that replaced it
        "考核优秀的孵化器每年补贴15万元，考核良好的每年补贴8万元。",
        "考核优秀的孵化器每年补贴20万元，考核良好的每年补贴10万元。",
    ]
    assert collapse_duplicates([0, 1], texts, threshold=0.6) == [0]
    assert collapse_duplicates([0, 1], texts, threshold=0.6, current=[False, True]) == [0, 1]
    # The superseded clause still gives way to the clause in force ranked above it.
    assert collapse_duplicates([1, 0], texts, threshold=0.6, current=[False, True]) == [1]


def test_a_question_quotes_a_passage_only_when_it_holds_nearly_all_of_it() -> None:
    clause = "对孵化器按照年度考核结果给予运营补贴，考核优秀的每年补贴15万元。"
    assert quotes("对孵化器按照年度考核结果给予运营补贴,考核优秀的每年补贴15万元?", clause)
    assert not quotes("考核优秀的孵化器每年补贴多少？", clause)
    assert not quotes("运营补贴", clause)  # too short to quote anything


def test_collapsing_with_a_limit_keeps_the_head_of_the_whole_result() -> None:
    texts = [
        "按照梯度培育体系开展针对性培育扶持。",
        "按照梯度培育体系,开展针对性培育扶持。",
        "有效高企数达1164家。",
        "有效高企数达1164家",
        "微贷通最高300万元。",
    ]
    ranked = [1, 0, 2, 3, 4]
    whole = collapse_duplicates(ranked, texts, threshold=0.85)
    assert whole == [1, 2, 4]
    for limit in range(1, 5):
        assert collapse_duplicates(ranked, texts, threshold=0.85, limit=limit) == whole[:limit]


@pytest.fixture
def fictional_retriever(services: Services):  # type: ignore[no-untyped-def]
    services.store.ingest()
    return services.retriever


def test_hybrid_search_finds_the_clause_and_carries_its_citation(fictional_retriever) -> None:  # type: ignore[no-untyped-def]
    hits = fictional_retriever.search("刚认定的高企能拿多少奖励？", k=3)
    top = hits[0].chunk
    assert "首次认定的高新技术企业给予一次性奖励88万元" in top.text
    assert top.doc_number == "示科〔2099〕7号"
    assert top.section == "一、支持企业成长 > (一)高企奖励"
    assert top.title.startswith("示例区关于科技企业扶持的若干措施")
    assert hits[0].score >= hits[-1].score


def test_each_mode_ranks_on_its_own(fictional_retriever) -> None:  # type: ignore[no-untyped-def]
    for mode in ("bm25", "dense", "hybrid"):
        hits = fictional_retriever.search("众创空间的补助标准", k=2, mode=mode)
        assert any("众创空间" in h.chunk.text for h in hits), mode
        assert all(set(h.ranks) <= {"bm25", "dense"} for h in hits)


def test_an_english_question_still_finds_the_chinese_clause(fictional_retriever) -> None:  # type: ignore[no-untyped-def]
    hits = fictional_retriever.search("What conditions apply for an innovation voucher?", k=5)
    assert any("创新券" in h.chunk.text for h in hits)


def test_an_empty_question_returns_nothing(fictional_retriever) -> None:  # type: ignore[no-untyped-def]
    assert fictional_retriever.search("   ") == []
