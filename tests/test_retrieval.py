"""Retrieval logic: BM25, rank fusion, duplicate collapse, and hybrid search on a real index."""

from __future__ import annotations

import pytest

from assistant.config import PROJECT_DIR
from assistant.evaluation import corpus_services
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


def test_a_document_scores_as_well_as_its_best_part() -> None:
    # A long list whose third item names the asked thing, beside a short text on it in passing.
    listing = ["下列", "收入", "免税"] + ["项目"] * 12 + ["国债", "利息"]
    short = ["国债", "利息", "发行", "期限", "面值", "方式", "说明", "规则"]
    plain = BM25([listing, short])
    assert plain.top({"国债": 1.0, "利息": 1.0}, 2)[0][0] == 1
    item = {"下列": 1.0, "收入": 1.0, "免税": 1.0, "国债": 1.0, "利息": 1.0}
    parted = BM25([listing, short], parts=[(0, item)])
    assert parted.top({"国债": 1.0, "利息": 1.0}, 2)[0][0] == 0
    # A part only ever raises its document: a term outside it scores as before.
    assert parted.scores({"项目": 1.0})[0] == pytest.approx(plain.scores({"项目": 1.0})[0])


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


# -- questions in everyday words, on the real law texts ------------------------------------


@pytest.fixture(scope="module")
def real_laws(shipped_services: Services) -> Services:
    """The labour contract, company and anti-unfair-competition laws (the real texts kept with
    the foreign evaluation corpus), indexed apart as `policy-assistant eval` indexes a folder."""
    return corpus_services(shipped_services, PROJECT_DIR / "evals" / "foreign" / "corpus" / "laws")


def _rank(services: Services, question: str, clause: str) -> int | None:
    hits = services.retriever.search(question, k=5)
    return next((i + 1 for i, h in enumerate(hits) if clause in h.chunk.text), None)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("clause", "questions"),
    [
        (
            "严重违反用人单位的规章制度的",
            [
                "员工严重违反公司制度，公司能直接开除吗",
                "员工违反员工手册被辞退，合法吗",
                "老板能不能解雇严重违反公司规定的员工",
            ],
        ),
        (
            "未与劳动者订立书面劳动合同的，应当向劳动者每月支付二倍的工资",
            [
                "老板招人不签劳动合同，要承担什么后果",
                "员工来了半年还没有签书面合同，公司要赔什么",
                "入职三个月了，公司一直没跟我签合同，怎么办",
            ],
        ),
        (
            "公司连续五年不向股东分配利润",
            [
                "公司一直赚钱但好几年不分红，小股东能退股吗",
                "连续几年盈利却不分红，股东可以要求公司回购股权吗",
            ],
        ),
        (
            "股东向股东以外的人转让股权",
            [
                "我想把股权卖给外面的人，要其他股东同意吗",
                "小股东把股份卖给外人需要通知谁",
            ],
        ),
        (
            "试用期不得超过",
            [
                "签一年的劳动合同，试用期最长多久",
                "新员工合同签三年，试用期可以约定多长",
                "劳动合同两年，试用期上限是多少",
            ],
        ),
    ],
)
def test_a_question_in_everyday_words_finds_the_labour_or_company_law_article(
    real_laws: Services, clause: str, questions: list[str]
) -> None:
    for question in questions:
        assert _rank(real_laws, question, clause), question


@pytest.mark.slow
@pytest.mark.parametrize(
    ("clause", "questions"),
    [
        (
            "不得违约拖欠中小企业的货物、工程、服务款项",
            [
                "大公司拖着货款不结，法律上怎么说",
                "客户是大企业，一直欠款不付怎么办",
                "国企拖了我们半年的工程款，有规定吗",
            ],
        ),
        (
            "股息、红利等权益性投资收益",
            ["子公司给母公司分红，要交企业所得税吗", "我们公司拿到的投资分红需要交税吗"],
        ),
    ],
)
def test_a_question_in_everyday_words_finds_the_article_on_the_shipped_index(
    shipped_services: Services, clause: str, questions: list[str]
) -> None:
    for question in questions:
        assert _rank(shipped_services, question, clause), question


@pytest.mark.slow
def test_statutory_terms_weigh_fully_when_the_documents_never_use_the_askers_word(
    real_laws: Services,
) -> None:
    retriever = real_laws.retriever
    assert not retriever.written("开除") and not retriever.written("没签劳动合同")
    terms = retriever.keyword_query("员工能直接开除吗")
    assert terms["解除"] == 1.0 and terms["劳动合同"] == 1.0
    # The asker's word is in the documents (员工, in the competition law): its synonym weighs less.
    assert retriever.written("员工")
    assert terms["劳动者"] < 1.0
    # The dense model is asked with the statutory terms, and a statutory question as it is.
    assert "解除劳动合同" in retriever.dense_query("员工能直接开除吗")
    assert retriever.dense_query("用人单位解除劳动合同") == "用人单位解除劳动合同"


@pytest.mark.parametrize(
    ("question", "article"),
    [
        ("专门为了科学研究和实验用别人的专利算不算侵权", "第七十五条"),
        ("我们借给国家的国债拿到的利息用交税吗", "第二十六条"),
    ],
)
def test_one_item_of_a_long_list_ranks_first_by_its_own_words(
    shipped_services: Services, question: str, article: str
) -> None:
    # The answer is one item of a list of four or five; the whole article is long, and BM25
    # discounts it below shorter articles that share fewer of the question's words.
    first = shipped_services.retriever.search(question, k=3, mode="bm25")[0]
    assert first.chunk.section.endswith(article)
