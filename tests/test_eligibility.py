"""Eligibility: the shipped rules checked against the shipped corpus, profiles in JSON and chat.

The rules and corpus are the real ones; the rule files written here for the refusal cases
are fictional and say so.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from assistant.cli import app
from assistant.config import PROJECT_DIR, get_settings, load_settings
from assistant.eligibility.profile import Profile, mentions_self, parse_profile, read_facts
from assistant.eligibility.rules import RuleBook, read_rule_files, uncovered
from assistant.eligibility.verdicts import (
    HEAD,
    INTENT,
    REQUEST,
    conversation_profile,
    evaluate,
    next_questions,
    report,
)
from assistant.errors import ProfileError
from assistant.models import Message
from assistant.serve.runtime import Services, use_site

from .openai_stub import OpenAIStub

CLI = [sys.executable, "-m", "assistant.cli"]
RULES = PROJECT_DIR / "corpus" / "rules"


@pytest.fixture(autouse=True)
def _shipped_site(shipped_services: Services) -> None:
    """The facts of location are worded once per process, by the site served last: here the
    shipped corpus/site.yaml's."""
    use_site(shipped_services.settings)


@pytest.fixture(scope="module")
def book(shipped_services: Services) -> RuleBook:
    return shipped_services.rulebook


def outcomes(profile: Profile, book: RuleBook) -> dict[str, str]:
    return {v.rule.id: v.outcome for v in evaluate(profile, book.rules)}


def ask(services: Services, *turns: str) -> list[Any]:
    history: list[Message] = []
    answers = []
    for turn in turns:
        answer = services.assistant.ask(turn, history)
        answers.append(answer)
        history += [Message("user", turn), Message("assistant", answer.answer)]
    return answers


# -- the shipped rules ----------------------------------------------------------------------


def test_every_shipped_rule_is_accepted_against_the_shipped_corpus(book: RuleBook) -> None:
    assert book.errors == []
    assert len(book.rules) >= 20
    documents = {r.document for r in book.rules}
    assert "district/qingkewei-2025-1" in documents
    assert "laws/enterprise-income-tax-law" in documents


def test_every_citation_of_a_report_quotes_the_document_exactly(
    book: RuleBook, shipped_services: Services
) -> None:
    profile = parse_profile(
        {
            "stage": "成长期",
            "qualifications": ["高新技术企业", "科技型中小企业"],
            "rd_expenses": True,
        }
    )
    result = report(profile, evaluate(profile, book.rules), book.citation)
    assert result["citations"]
    chunks = {c.chunk_id: c for c in shipped_services.index.chunks}
    for c in result["citations"]:
        chunk = chunks[c["chunk_id"]]
        offset = c["start"] - chunk.start
        assert chunk.text[offset : offset + len(c["quote"])] == c["quote"]
    cited = {c["n"] for c in result["citations"]}
    for v in result["verdicts"]:
        assert v["benefit"]["citation"] in cited
        assert all(cond["citation"] in cited for cond in v["conditions"])


# -- verdicts for profiles ----------------------------------------------------------------


def test_a_growth_stage_tech_sme_qualifies_for_the_performance_loan_only(book: RuleBook) -> None:
    profile = parse_profile({"stage": "成长期", "qualifications": ["科技型中小企业"]})
    got = outcomes(profile, book)
    assert got["qingpu-performance-loan"] == "eligible"
    assert got["qingpu-micro-loan"] == "not_eligible"  # 初创 only
    assert got["qingpu-credit-loan"] == "not_eligible"  # listed statuses are complete
    assert got["stpl-tech-sme-tax"] == "eligible"
    assert got["eit-high-tech-rate"] == "not_eligible"


def test_a_high_tech_enterprise_without_its_recognition_type_needs_more_information(
    book: RuleBook,
) -> None:
    profile = parse_profile({"qualifications": ["高新技术企业"], "registered_in_district": True})
    verdicts = {v.rule.id: v for v in evaluate(profile, book.rules)}
    subsidy = verdicts["qingpu-high-tech-subsidy"]
    assert subsidy.outcome == "needs_info"
    assert subsidy.missing == ("high_tech_recognition",)
    assert "首次认定还是重新认定" in (subsidy.question or "")
    assert verdicts["eit-high-tech-rate"].outcome == "eligible"


def test_a_re_recognised_high_tech_enterprise_registered_in_the_district_gets_the_subsidy(
    book: RuleBook,
) -> None:
    profile = parse_profile(
        {"high_tech": True, "high_tech_recognition": "重新认定", "registered_in_district": True}
    )
    assert outcomes(profile, book)["qingpu-high-tech-subsidy"] == "eligible"
    elsewhere = profile.merged(Profile(registered_in_district=False))
    assert outcomes(elsewhere, book)["qingpu-high-tech-subsidy"] == "not_eligible"


def test_the_subsidy_names_the_document_holding_its_amounts_and_states_none(book: RuleBook) -> None:
    profile = parse_profile(
        {"high_tech": True, "high_tech_recognition": "首次认定", "registered_in_district": True}
    )
    result = report(profile, evaluate(profile, book.rules), book.citation)
    subsidy = next(v for v in result["verdicts"] if v["rule_id"] == "qingpu-high-tech-subsidy")
    assert "青浦区关于高新技术企业补贴的实施办法" in subsidy["details"]["document"]
    assert "万元" not in json.dumps(subsidy, ensure_ascii=False)


def test_a_rule_whose_document_states_no_conditions_says_so(book: RuleBook) -> None:
    got = outcomes(parse_profile({"qualifications": []}), book)
    assert got["qingpu-tech-sme-evaluation"] == "not_stated"


def test_next_question_asks_for_the_fact_that_settles_most_rules(book: RuleBook) -> None:
    profile = parse_profile({"qualifications": ["科技型中小企业"]})
    questions = next_questions(evaluate(profile, book.rules))
    assert questions and "发展阶段" in questions[0]


def test_a_profile_with_an_unknown_field_or_value_is_refused_clearly() -> None:
    with pytest.raises(ProfileError) as unknown:
        parse_profile({"revenue": 10})
    assert "revenue" in unknown.value.zh and "revenue" in unknown.value.en
    with pytest.raises(ProfileError) as bad:
        parse_profile({"stage": "青春期"})
    assert "stage" in bad.value.en
    with pytest.raises(ProfileError) as qualification:
        parse_profile({"qualifications": ["专精特新"]})
    assert "专精特新" in qualification.value.zh


# -- refusing rules ----------------------------------------------------------------------

FICTIONAL_RULE = """# 虚构的规则，仅供测试（fictional, for tests only）
- id: {id}
  name: 虚构规则
  document: district/qingkewei-2025-1
  benefit: {{text: {benefit}, quote: "{quote}"}}
  conditions:
    - {{field: high_tech, is: true, quote: "{quote}"}}
"""


def write_rule(
    folder: Path, rule_id: str, quote: str, benefit: str = "资金补贴", extra: str = ""
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{rule_id}.yaml").write_text(
        FICTIONAL_RULE.format(id=rule_id, quote=quote, benefit=benefit) + extra, encoding="utf-8"
    )


def test_a_rule_quoting_text_not_in_the_corpus_is_refused_by_name(
    tmp_path: Path, shipped_services: Services
) -> None:
    write_rule(tmp_path, "invented-bonus", "对首次认定的高企给予100万元奖励")
    rules, errors = read_rule_files(tmp_path)
    book = RuleBook.build(rules, errors, shipped_services.index.chunks)
    assert book.rules == []
    assert book.errors[0].rule == "invented-bonus"
    assert "找不到" in book.errors[0].zh and "not found" in book.errors[0].en


def test_malformed_rules_are_refused_each_with_a_reason(tmp_path: Path) -> None:
    quote = "出台新一轮区级高企补贴政策"
    write_rule(tmp_path, "unknown-key", quote, extra="  amount: 100万元\n")
    write_rule(tmp_path, "made-up-figure", quote, benefit="补贴100万元")
    (tmp_path / "unknown-field.yaml").write_text(
        "- id: unknown-field\n  name: x\n  document: d\n  benefit: {text: x, quote: q}\n"
        "  conditions: [{field: revenue, is: true, quote: q}]\n",
        encoding="utf-8",
    )
    rules, errors = read_rule_files(tmp_path)
    assert rules == []
    reasons = {e.rule.split()[0]: e.en for e in errors}
    assert "amount" in reasons["unknown-key"]
    assert "100" in reasons["made-up-figure"]
    assert "revenue" in reasons["unknown-field"]


def test_rules_check_lists_rule_like_sentences_no_rule_covers(
    book: RuleBook, shipped_services: Services
) -> None:
    left = uncovered(shipped_services.index.chunks, book.rules)
    sentences = [s for _, _, s in left]
    assert not any("免申即享" in s for s in sentences)  # a rule quotes it
    assert "研究制定青浦区科技服务业产业扶持政策。" in sentences  # no rule yet


# -- in conversation --------------------------------------------------------------------


def test_facts_are_read_from_how_enterprises_describe_themselves() -> None:
    assert read_facts("我们是成长期的科技型中小企业，能贷款吗？").known() == {
        "stage": "成长期",
        "tech_based": True,
        "tech_sme": True,
    }
    assert read_facts("我们还不是高企，注册在闵行区").known() == {
        "high_tech": False,
        "registered_in_district": False,
    }
    assert read_facts("我司是科技小巨人培育企业").known() == {"little_giant_cultivation": True}
    assert read_facts("能申请高企吗？").known() == {}


def test_an_ordinary_question_about_a_status_is_not_taken_as_a_profile() -> None:
    assert not conversation_profile("高企的企业所得税税率是多少？", []).asks
    assert not conversation_profile("我们想了解高企认定需要什么条件", []).asks


def test_enough_said_of_a_thing_asks_whether_it_suffices_not_whether_one_qualifies() -> None:
    assert not conversation_profile(
        "我们厂按自己定的企业标准生产，具体要公开哪些内容？光挂个标准名字够不够？", []
    ).asks
    assert conversation_profile("我们是高企，够不够格申请区里的补贴？", []).asks
    assert conversation_profile("我们公司够不够？能拿高企补贴吗", []).asks


def test_a_growth_stage_sme_asking_about_loans_gets_the_loan_verdicts(
    shipped_services: Services,
) -> None:
    [answer] = ask(shipped_services, "我们是成长期的科技型中小企业，能贷款吗？")
    assert answer.intent == INTENT and answer.answer.startswith(HEAD)
    eligible = answer.answer.split("【符合】")[1].split("【")[0]
    assert "履约贷" in eligible and "微贷通" not in eligible
    assert "个人所得税" not in answer.answer and "所得税" not in eligible  # loans only
    assert any("成长期科技型中小企业" in c.quote for c in answer.citations)


def test_we_are_high_tech_what_can_we_get_gathers_benefits_from_every_document(
    shipped_services: Services,
) -> None:
    [answer] = ask(shipped_services, "我们是高企，能享受什么？")
    documents = {c.chunk.doc_id for c in answer.citations}
    assert {"district/qingkewei-2025-1", "laws/enterprise-income-tax-law"} <= documents
    assert "15％" in answer.answer and "免申即享" in answer.answer
    subsidy = next(line for line in answer.answer.splitlines() if "青浦区高新技术企业补贴" in line)
    assert "尚需了解：在青浦区注册、高企认定类型" in subsidy  # the deciding facts it lacks
    assert "为进一步判断，请补充：" in answer.answer


def test_facts_carry_over_until_the_subsidy_is_decided(shipped_services: Services) -> None:
    first, second, third = ask(
        shipped_services, "我们是高企，区里的补贴能拿吗？", "首次认定的", "是的"
    )
    assert "首次认定还是重新认定" in first.answer
    assert second.intent == INTENT and "是否在青浦区注册" in second.answer
    assert third.intent == INTENT
    eligible = third.answer.split("【符合】")[1].split("【")[0]
    assert "青浦区高新技术企业补贴" in eligible
    assert "青浦区关于高新技术企业补贴的实施办法" in eligible


def test_a_model_reads_the_profile_and_a_bad_reading_falls_back_to_the_vocabulary(
    openai_stub: OpenAIStub, shipped_services: Services
) -> None:
    settings = load_settings(
        corpus_dir=PROJECT_DIR / "corpus",
        index_dir=shipped_services.settings.index_dir,  # the session's index, read only
        answerer="llm",
        llm_base_url=openai_stub.base_url,
    )
    services = Services(settings)
    openai_stub.script('{"stage": "成长期", "tech_sme": true, "registered_in_district": true}')
    [answer] = ask(services, "我们公司发展得挺快，已经入了科技型中小企业库，能贷款吗？")
    assert "在青浦区注册" in answer.answer  # only the model read that
    assert "fields" not in openai_stub.requests[-1]["messages"][0]["content"][:10]
    openai_stub.script('{"stage": "青春期"}')  # outside the vocabulary
    [fallback] = ask(services, "我们是成长期的科技型中小企业，能贷款吗？")
    assert fallback.intent == INTENT and "成长期" in fallback.answer


# -- whose company: the verdicts answer only a question about the asker's own ------------------

GENERAL_QUESTIONS = [
    "国家在税收上对小微企业有哪些扶持？",
    "高企有什么补贴？",
    "小微企业的所得税税率是多少",
    "哪些企业可以申请微贷通",
    "高新技术企业能享受哪些税收优惠？",
    "小型微利企业是否可以享受优惠",
    "什么样的企业能申请履约贷？",
    "我们想了解一下科技小巨人企业能享受什么政策",  # the first person only frames the question
    "去年认定的高企，能享受区里的补贴吗？",  # a kind of enterprise, not a statement
]
OWN_COMPANY_QUESTIONS = [
    "我们公司能拿区里的高企补贴吗？",
    "我司符合条件吗",
    "我们能申请哪些政策",
    "我们是成长期的科技型中小企业，能享受什么政策吗？",
    "我想问一下我们公司能不能申请微贷通",
    "刚拿到高企证书，区里有补贴吗？",  # facts about the asker's company, then the question
    "公司在青浦注册，能拿补贴吗",
]


@pytest.mark.parametrize("question", GENERAL_QUESTIONS)
def test_a_general_question_about_policies_takes_the_answer_path(
    shipped_services: Services, question: str
) -> None:
    [answer] = ask(shipped_services, question)
    assert answer.intent != INTENT and not answer.answer.startswith(HEAD)


@pytest.mark.parametrize("question", OWN_COMPANY_QUESTIONS)
def test_a_question_about_ones_own_company_gets_the_verdicts(
    shipped_services: Services, question: str
) -> None:
    [answer] = ask(shipped_services, question)
    assert answer.intent == INTENT and answer.answer.startswith(HEAD)


def test_a_missing_deciding_fact_is_asked_for_in_the_sites_words_not_guessed(
    shipped_services: Services,
) -> None:
    [answer] = ask(shipped_services, "我们公司能拿区里的高企补贴吗？")
    assert "【符合】" not in answer.answer and "【不符合】" not in answer.answer
    request = answer.answer.split(REQUEST)[1].splitlines()[0]
    # One short question per deciding fact, the location worded by corpus/site.yaml.
    assert request.startswith(
        "贵企业是否在青浦区注册？贵企业是否已被认定为高新技术企业？"
        "贵企业的高新技术企业资格是首次认定还是重新认定？"
    )
    [told] = ask(shipped_services, "我们是高企，在青浦注册，区里的补贴能拿吗？")
    assert told.answer.split(REQUEST)[1].startswith(
        "贵企业的高新技术企业资格是首次认定还是重新认定？"
    )
    assert "是否在青浦区注册" not in told.answer.split(REQUEST)[1]


def test_a_loan_question_asks_one_question_per_missing_condition(
    shipped_services: Services,
) -> None:
    [answer] = ask(shipped_services, "我们可以申请微贷通吗？")
    request = answer.answer.split(REQUEST)[1].splitlines()[0]
    assert request.count("？") == 3  # stage, a technology enterprise, size: one each
    assert "发展阶段" in request and "科技型企业" in request and "微型、小型" in request


def test_asked_what_it_can_get_with_nothing_known_the_answer_asks_instead_of_judging(
    shipped_services: Services,
) -> None:
    [answer] = ask(shipped_services, "我们能申请哪些政策？")
    assert "暂不能判断" in answer.answer and "【符合】" not in answer.answer
    assert 1 <= answer.answer.split(REQUEST)[1].splitlines()[0].count("？") <= 3


def test_a_bare_yes_to_several_questions_is_not_taken_for_an_answer_to_one(
    shipped_services: Services,
) -> None:
    first, second = ask(shipped_services, "我们公司能拿区里的高企补贴吗？", "是的")
    assert "请逐项回答" in first.answer
    assert second.intent == INTENT and "尚未提供企业情况" in second.answer
    assert "是否在青浦区注册" in second.answer.split(REQUEST)[1]


def test_an_own_company_question_naming_no_policy_is_about_the_one_asked_before(
    shipped_services: Services,
) -> None:
    general, own = ask(shipped_services, "哪些企业可以申请微贷通？", "我司符合条件吗？")
    assert general.intent != INTENT
    assert own.intent == INTENT and "微贷通" in own.answer
    assert "青浦区高新技术企业补贴" not in own.answer


def test_a_general_question_during_a_check_takes_the_answer_path(
    shipped_services: Services,
) -> None:
    check, general = ask(
        shipped_services, "我们是成长期的科技型中小企业，能贷款吗？", "高企的企业所得税税率是多少？"
    )
    assert check.intent == INTENT
    assert general.intent != INTENT and "15％" in general.answer


@pytest.mark.parametrize(
    "question",
    [
        "我们能申请专利吗？",
        "我们公司亏损能拿到以后年度弥补吗",
        "有家公司的发明专利一直不实施，我们想申请强制许可，在时间上要满足什么条件？",
        "我们想请研究所的研究员来公司兼职，他能拿报酬吗，要满足什么条件？"
        "另外我们想用股权、期权给研发骨干做激励，法律上支持吗？",
    ],
)
def test_an_own_company_question_about_what_no_rule_covers_is_answered_from_the_documents(
    shipped_services: Services, question: str
) -> None:
    [answer] = ask(shipped_services, question)
    assert answer.intent != INTENT


def test_whose_company_a_message_speaks_of() -> None:
    assert mentions_self("我们是高企")
    assert mentions_self("公司是高企，能享受什么？")
    assert mentions_self("刚拿到高企证书，区里有补贴吗？")
    assert not mentions_self("我们想了解高企有什么补贴")
    assert not mentions_self("小型微利企业是否可以享受优惠")
    assert not mentions_self("去年认定的高企，能享受补贴吗？")


# -- the command line ------------------------------------------------------------------


def run(args: list[str], index_dir: Path) -> Result:
    """The command, in this process, over the shipped corpus and the given index."""
    env = {
        "ASSISTANT_CORPUS_DIR": str(PROJECT_DIR / "corpus"),
        "ASSISTANT_INDEX_DIR": str(index_dir),
    }
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, args, env=env, catch_exceptions=False)
    finally:
        get_settings.cache_clear()


@pytest.mark.slow
def test_eligibility_command_prints_cited_verdicts_and_explains_a_bad_profile(
    tmp_path: Path, shipped_services: Services
) -> None:
    index = shipped_services.settings.index_dir
    profile = tmp_path / "profile.json"
    profile.write_text(
        json.dumps({"stage": "初创期", "size": "微型", "tech_based": True}, ensure_ascii=False),
        encoding="utf-8",
    )
    result = run(["eligibility", "--profile", str(profile), "--json"], index)
    assert result.exit_code == 0, result.stderr
    verdicts = {v["rule_id"]: v for v in json.loads(result.stdout)["verdicts"]}
    assert verdicts["qingpu-micro-loan"]["outcome"] == "eligible"
    text = run(["eligibility", "--profile", str(profile)], index)
    assert "[符合] “3+X”科技信贷·微贷通" in text.stdout and "引文：" in text.stdout
    profile.write_text('{"stage": "初创期", "revenue": 5}', encoding="utf-8")
    bad = run(["eligibility", "--profile", str(profile)], index)
    assert bad.exit_code == 1 and "revenue" in bad.stderr and "Traceback" not in bad.stderr
    checked = run(["rules", "check", "--json"], index)
    assert checked.exit_code == 0 and json.loads(checked.stdout)["refused"] == []


@pytest.mark.slow
def test_ingest_refuses_a_rule_whose_quote_is_not_in_the_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "district").mkdir(parents=True)
    source = PROJECT_DIR / "corpus" / "district" / "qingkewei-2025-1.txt"
    (corpus / "district" / source.name).write_bytes(source.read_bytes())
    write_rule(corpus / "rules", "invented-bonus", "对首次认定的高企给予100万元奖励")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app,
            ["ingest"],
            catch_exceptions=False,
            env={
                "ASSISTANT_CORPUS_DIR": str(corpus),
                "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
            },
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 3
    assert "invented-bonus" in result.stderr and "Traceback" not in result.stderr
    assert "1 documents" in result.stdout  # the rules folder is not a document


# -- over HTTP ---------------------------------------------------------------------------


def test_the_eligibility_endpoint_gives_cited_verdicts_and_readable_errors(
    shipped_services: Services, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from assistant.serve.app import create_app

    from .test_api import AUTH, make_settings

    settings = make_settings(
        PROJECT_DIR / "corpus",
        shipped_services.settings.index_dir,
        database_url=f"sqlite:///{tmp_path / 'records.sqlite3'}",
    )
    with TestClient(create_app(settings)) as api:
        ok = api.post(
            "/v1/eligibility",
            headers=AUTH,
            json={
                "profile": {"stage": "初创期", "size": "小型", "qualifications": ["科技型中小企业"]}
            },
        )
        assert ok.status_code == 200, ok.text
        body = ok.json()
        verdicts = {v["rule_id"]: v for v in body["verdicts"]}
        assert verdicts["qingpu-micro-loan"]["outcome"] == "eligible"
        assert {c["n"] for c in body["citations"]} >= {
            c["citation"] for c in verdicts["qingpu-micro-loan"]["conditions"]
        }
        unknown = api.post(
            "/v1/eligibility", headers=AUTH, json={"profile": {"qualifications": ["专精特新"]}}
        )
        assert unknown.status_code == 400 and "专精特新" in unknown.json()["error"]["zh"]
        extra = api.post("/v1/eligibility", headers=AUTH, json={"profile": {"revenue": 1}})
        assert extra.status_code == 422 and "Traceback" not in extra.text
        assert api.post("/v1/eligibility", json={"profile": {}}).status_code == 401


def test_a_registration_elsewhere_is_read_but_shanghai_itself_is_not_elsewhere() -> None:
    assert read_facts("本企业在闵行注册").known() == {"registered_in_district": False}
    assert read_facts("我们公司在上海市注册").known() == {}
    assert read_facts("我们注册在青浦区").known() == {"registered_in_district": True}


def test_a_question_said_of_a_thing_asks_how_the_documents_treat_it(
    shipped_services: Services,
) -> None:
    # 抵税 names every tax rule, but the asker asks about the part of a donation over the cap.
    asked = "公司今年给山区学校捐了一大笔钱，超过了利润的12%，超出的那部分是不是就不能抵税了？"
    assert not conversation_profile(asked, []).asks
    [answer] = ask(shipped_services, asked)
    assert answer.intent != INTENT and "结转以后三年内" in answer.answer[:200]
    assert conversation_profile("我们是高企，这项补贴我们能拿吗？", []).asks


def test_a_tax_of_a_law_not_indexed_gets_no_verdicts_of_other_rules(
    shipped_services: Services,
) -> None:
    # The documents hold the enterprise income tax law, not the individual income tax law.
    [answer] = ask(shipped_services, "我们公司刚认定了高企，员工的个人所得税能享受什么优惠？")
    assert answer.intent != INTENT and answer.abstained
    assert "个人所得税" in answer.answer[:40]
