"""The reader on documents it was not built around: the fictional development corpus
(evals/foreign: other districts' measures in every format, and three laws), over a real index.

Each test pins one mechanism: a passage carries its document's place, a figure belongs to the
named thing of its clause, the asker's own figure picks its bracket, a question in parts is
answered part by part. The pure pieces (brackets, places, parts) are checked on their own too.
"""

from __future__ import annotations

import re

import pytest

from assistant.answer.aspects import ATTRIBUTES
from assistant.answer.brackets import brackets, degree_fit, denied_degrees, fit, number, stated
from assistant.answer.names import classified_names, sibling_named
from assistant.answer.need import Need, Term
from assistant.answer.parts import question_parts
from assistant.answer.places import Gazetteer, leading_places, unknown_places
from assistant.answer.references import References
from assistant.answer.support import Span, item_stem, opening_of_paragraph, years_spoken
from assistant.models import Chunk, Message
from assistant.search.similarity import SentenceSimilarity
from assistant.serve.runtime import Services
from assistant.text.intent import asks, holds, read_intent, tag_question

pytestmark = pytest.mark.slow


def _lead(text: str) -> str:
    return text[:200]


def test_a_question_naming_a_district_is_answered_by_the_clause_of_its_document_that_says_本区(
    foreign_services: Services,
) -> None:
    result = foreign_services.assistant.ask("临溪区对第一次认定的高企奖多少钱？")
    assert not result.abstained
    assert "30万元" in _lead(result.answer)
    assert "临溪区" in result.citations[0].chunk.title
    assert "本区" in result.citations[0].chunk.text or "临溪" not in result.citations[0].quote


def test_a_figure_in_a_clause_naming_a_sibling_is_the_siblings_though_the_sentence_names_the_asked_thing(
    shipped_services: Services,
) -> None:
    # "…分别设计微贷通、履约贷和信用贷…,24家企业通过履约贷审批,授信额度共计1.46亿元":
    # the count and the credit total are 履约贷's, not 微贷通's.
    result = shipped_services.assistant.ask(
        "3+X里的微贷通去年一共给多少家企业放了款、授信额度多少？"
    )
    assert result.abstained
    assert "1.46亿元" not in result.answer and "24家" not in result.answer
    assert "文件只对履约贷" in result.answer


def test_a_sentence_that_asks_nothing_sets_no_kind_of_answer() -> None:
    # "今年…盈利了" tells; only "结转几年" asks, and it asks a period, not this year's target.
    kinds = read_intent("公司前两年一直亏损，今年终于开始盈利了。亏损最多可以往后结转几年？").kinds
    assert "time" in kinds and "target" not in kinds
    # A sentence ending in a question mark asks, with no asking word.
    assert read_intent("今年的目标定了。高企数量？").kinds


def test_a_few_words_of_an_enumeration_are_quoted_with_their_neighbours(
    shipped_services: Services,
) -> None:
    result = shipped_services.assistant.ask(
        "我们是软件公司，60个人、年营收3000万，算小型企业还是中型企业？划分标准是多少？"
    )
    # Cited or listed as related, "中型企业、" is never quoted alone.
    quotes = [c.quote for c in (*result.citations, *result.related)]
    assert quotes and all(len(q) >= 12 for q in quotes)


def test_asking_which_person_to_contact_asks_for_the_office() -> None:
    office = ATTRIBUTES[[a.zh for a in ATTRIBUTES].index("联系部门")]
    assert office.asks.search("具体找区里哪位老师对接？")
    assert office.asks.search("对接人是谁")


def test_where_to_apply_and_what_one_recipient_gets_are_attributes_of_their_own() -> None:
    def asked(question: str) -> list[str]:
        return [a.zh for a in ATTRIBUTES if a.asks.search(question)]

    assert "申报方式" in asked("大赛青浦赛区在哪里报名？")
    assert "申报方式" in asked("科技小巨人具体怎么申报？")
    assert "单家企业的金额或标准" in asked("区里对科技小巨人（含培育）企业的资助金额是多少？")
    channel = next(a for a in ATTRIBUTES if a.zh == "申报方式")
    assert channel.holds.search("企业通过“云杉科创金融服务平台”提交贷款申请")
    assert not channel.holds.search("组织开展大赛青浦赛区比赛的项目初审推荐")
    assert not channel.holds.search("按照梯度培育体系，推动企业成长壮大")


def test_what_the_asker_tells_asks_for_nothing(shipped_services: Services) -> None:
    need = shipped_services.assistant.need(
        "有个行业协会打着主管部门的旗号，要求我们必须订他们的刊物，还要赞助年会。这合法吗？"
    )
    assert not need.attributes  # 主管部门 is told, not asked for
    need = shipped_services.assistant.need("违法所得估计就两三万块。最多能罚多少钱？")
    assert not any(t.word.startswith("两三万") for t in need.terms)
    assert "count" not in read_intent("3+X体系里主要有哪几个核心产品？").kinds


def test_whether_and_shares_of_an_income_ask_their_own_kinds() -> None:
    # 额度 names what a whether-question is about; it asks no amount.
    assert not read_intent("奖励会不会挤占我们当年的工资总额额度？").kinds & {"money", "figure"}
    assert "money" in read_intent("工资总额额度是多少？").kinds
    # What is taken out of an income is a share of it.
    assert "percent" in read_intent("研发人员至少能从转让净收入里分多少？").kinds


def test_a_rule_is_quoted_with_its_proviso_and_without_an_unrelated_opening(
    shipped_services: Services,
) -> None:
    result = shipped_services.assistant.ask(
        "我是国企HR，科技成果转化后给研发骨干发的奖励和报酬，要不要算进工资总额？"
        "会不会挤占我们当年的工资总额额度？"
    )
    assert "不受当年本单位工资总额限制" in result.answer[:300]
    # The paragraph stands on its own: the article's first paragraph is not put before it.
    assert "按照下列标准" not in result.answer


def test_what_one_recipient_gets_is_not_answered_by_a_total_paid_to_many(
    shipped_services: Services,
) -> None:
    # "累计拨付结算资金1354.9万元" was paid for 24+64+4 projects, not to each 小巨人.
    result = shipped_services.assistant.ask(
        "被认定为区级科技小巨人（培育）企业，区里给多少资助资金？"
    )
    assert result.abstained
    assert "1354.9" not in result.answer and "科技小巨人" in result.answer


def test_the_askers_own_company_and_the_figure_they_deny_do_not_pick_the_clause(
    shipped_services: Services,
) -> None:
    result = shipped_services.assistant.ask(
        "我们公司刚拿到高企证书，企业所得税是不是就不按25%交了？按多少交？"
    )
    assert not result.abstained
    assert "15％" in _lead(result.answer)


def test_a_choice_between_figures_asks_a_figure_the_documents_must_state(
    shipped_services: Services,
) -> None:
    # The law allows 加计扣除 but states no ratio; "完成率100%" elsewhere is no answer.
    result = shipped_services.assistant.ask("研发费用加计扣除现在是按100%加计还是75%？")
    assert result.abstained
    assert "100%" not in result.answer and "75%" not in result.answer
    assert "比例" in result.answer


def test_a_share_asked_with_what_it_is_of_is_answered_only_by_that_share(
    shipped_services: Services,
) -> None:
    # "完成率100%" is the share of annual reports filed, not of R&D costs in sales.
    result = shipped_services.assistant.ask("我们想申请高企，研发费用占销售收入最少要百分之多少？")
    assert result.abstained
    assert "100%" not in result.answer and "销售收入" in result.answer


def test_a_law_the_question_names_is_where_the_answer_must_be(
    shipped_services: Services,
) -> None:
    # The law sets no figure; the district's 4.53% and 4.7% are the district's, not the law's.
    result = shipped_services.assistant.ask("科技进步法有没有规定全社会研发经费要占GDP百分之几？")
    assert result.abstained
    assert "4.53%" not in result.answer and "4.7%" not in result.answer


def test_a_district_the_documents_never_name_is_said_to_be_uncovered(
    foreign_services: Services,
) -> None:
    result = foreign_services.assistant.ask("南屿区对高企有什么奖励")
    assert result.abstained
    assert "南屿区" in result.answer
    assert not re.search(r"\d+万元", result.answer)


def test_a_siblings_figure_is_never_given_and_the_abstention_names_whom_it_is_stated_for(
    foreign_services: Services,
) -> None:
    # The documents state an interest subsidy for two loan products, not for the third.
    result = foreign_services.assistant.ask("云杉区领航信用贷财政贴息比例是多少")
    assert result.abstained
    assert "%" not in result.answer
    assert "文件只对" in result.answer and "科创微贷" in result.answer


def test_the_bracket_holding_the_askers_own_figure_is_quoted_not_its_neighbour(
    foreign_services: Services,
) -> None:
    two_years = foreign_services.assistant.ask("跟员工签两年劳动合同，试用期最长能约定多久")
    assert "二个月" in _lead(two_years.answer)
    assert "不得超过一个月" not in _lead(two_years.answer)
    four_months = foreign_services.assistant.ask("员工才来了四个月，公司协商解除的话补偿多少")
    assert "半个月工资" in _lead(four_months.answer)


def test_a_question_in_two_parts_gets_each_part_answered_once_near_the_top(
    foreign_services: Services,
) -> None:
    result = foreign_services.assistant.ask(
        "东澜市首次认定国家级小巨人奖励多少？之前拿过专精特新奖的怎么算"
    )
    assert not result.abstained
    assert "按差额补足" in result.answer[:300]
    assert len({c.quote for c in result.citations}) == len(result.citations)


def test_a_part_the_documents_do_not_state_is_said_plainly_beside_the_part_they_do(
    shipped_services: Services,
) -> None:
    result = shipped_services.assistant.ask(
        "技术转让所得多少钱以内能免企业所得税，超出部分是不是减半？"
    )
    assert result.abstained or "现有文件未载明" in result.answer


def test_what_lies_beyond_an_unstated_threshold_is_unstated_too(
    shipped_services: Services,
) -> None:
    # Without the threshold, "超过的部分" matched the donation article's own 超过…的部分.
    result = shipped_services.assistant.ask(
        "技术转让所得免税的起点是多少？超过的部分按什么税率算？"
    )
    assert result.abstained
    assert "12％" not in result.answer


def test_a_clause_listing_the_asked_thing_beside_another_is_about_both(
    shipped_services: Services,
) -> None:
    # "申请人自发明或者实用新型在外国第一次提出专利申请之日起十二个月内…": 实用新型 is
    # listed beside 发明 (the law's word for 发明专利), not named instead of it; and a named
    # country is a 外国 to the law.
    for question in (
        "发明专利我们先在德国申请了，回国内再申请想要求优先权，最晚多久得提？",
        "Our parent company filed an invention patent application in Japan. "
        "How long do we have to file in China and still claim priority?",
    ):
        result = shipped_services.assistant.ask(question)
        assert not result.abstained
        assert "第二十九条" in _lead(result.answer), question
        assert "十二个月" in _lead(result.answer), question


def test_a_name_listed_beside_the_asked_one_is_no_sibling() -> None:
    question = "发明专利的优先权期限"
    need = Need(
        question=question,
        intent=read_intent(question),
        terms=(Term("发明专利", ("发明专利",), 1.0),),
        entities=frozenset({"发明专利", "实用新型"}),
    )
    assert sibling_named("自发明或者实用新型在外国第一次提出专利申请之日起十二个月内", need) == ""
    assert sibling_named("实用新型专利权的期限为十年", need) == "实用新型"


def test_a_share_is_not_answered_by_a_tax_rate(shipped_services: Services) -> None:
    result = shipped_services.assistant.ask(
        "研发费用占销售收入要达到多少比例才能认定高新技术企业？"
    )
    assert result.abstained
    assert "15" not in result.answer


# -- the pure pieces ------------------------------------------------------------------


def test_chinese_numerals_read_as_numbers() -> None:
    assert number("两") == 2 and number("十二") == 12 and number("三十") == 30
    assert number("半") == 0.5 and number("2000") == 2000


def test_a_condition_states_its_bracket_and_the_askers_figure_falls_in_one() -> None:
    assert [(b.low, b.high) for b in brackets("劳动合同期限一年以上不满三年的，")] == [(12, 36)]
    assert brackets("按每月3000元的标准给予租房补贴") == []  # a figure, not a condition
    contract = stated("签两年劳动合同")
    assert fit(contract, "一年以上不满三年的，试用期不得超过二个月") == 1
    assert fit(contract, "三个月以上不满一年的，试用期不得超过一个月") == -1
    assert fit(contract, "试用期包含在劳动合同期限内") == 0
    assert stated("最长能签几年") == {} and stated("2024年放了多少") == {}


def test_places_are_read_from_issuers_and_titles() -> None:
    assert leading_places("东澜市云杉区科学技术委员会、东澜市云杉区财政局") == ["东澜市", "云杉区"]
    assert leading_places("中华人民共和国公司法") == []
    gazetteer = Gazetteer.of([("d1", "东澜市临溪区科学技术委员会", "关于…的通知")])
    assert gazetteer.named_in("临溪的高企") == (("临溪区", "临溪"),)
    assert gazetteer.speaks_for("d1", ("东澜市",))


def test_only_a_district_like_name_that_opens_a_phrase_is_taken_for_an_unknown_place() -> None:
    def known(word: str) -> bool:
        return word in "临溪区的文件"

    assert unknown_places("南屿区对高企有什么奖励", known) == ["南屿区"]
    assert unknown_places("我们在临溪区注册", known) == []
    assert unknown_places("科技园区有什么补贴", known) == []
    assert unknown_places("去年区里验收了多少个", known) == []


def test_a_later_part_without_its_own_subject_is_asked_about_the_first_parts() -> None:
    def subject(text: str) -> list[str]:
        return [w for w in ("高企", "研发补贴", "技术合同", "成交额") if w in text]

    assert question_parts("高企研发补贴按多少比例，封顶多少", subject) == [
        "高企研发补贴按多少比例",
        "高企 研发补贴 封顶多少",
    ]
    assert question_parts("高企研发补贴按多少比例", subject) == ["高企研发补贴按多少比例"]
    # A part that leans on an earlier one takes its time too; one standing alone keeps its own.
    leaning = question_parts("去年技术合同成交额多少，封顶多少", subject)
    assert leaning == ["去年技术合同成交额多少", "去年技术合同 成交额 封顶多少"]
    alone = question_parts("高企的研发补贴政策有哪些？另外今年技术合同成交额目标多少", subject)
    assert alone == ["高企的研发补贴政策有哪些?", "今年技术合同成交额目标多少"]


def test_a_leaning_part_carries_the_title_and_the_attribute_its_part_asked() -> None:
    def subject(text: str) -> list[str]:
        return [w for w in ("孵化器", "评估", "办法", "科创贷", "贷款") if w in text]

    titled = question_parts("《孵化器评估办法》有哪些指标，各占多少分？", subject)
    assert titled[1] == "《孵化器评估办法》 各占多少分?"
    rate = question_parts("科创贷利率多少？比普通贷款低多少", subject)
    assert rate == ["科创贷利率多少?", "科创贷 利率 比普通贷款低多少"]


def test_a_part_asking_again_about_an_unstated_rate_is_not_answered_by_another_figure(
    shipped_services: Services,
) -> None:
    result = shipped_services.assistant.ask("科技履约贷的年化利率是多少？比一般贷款便宜多少？")
    assert result.abstained
    assert "24家" not in result.answer


def test_asked_what_befalls_a_breach_the_penalty_article_answers_not_the_duty(
    shipped_services: Services,
) -> None:
    result = shipped_services.assistant.ask("单位把职务科技成果私下转让出去了，职工会被怎么处理？")
    assert "第五十一条" in result.answer[:60]
    assert ATTRIBUTES[[a.zh for a in ATTRIBUTES].index("法律责任")].holds.search("责令限期改正")


def test_asked_what_follows_a_failure_the_rule_on_that_failure_answers_not_the_duty(
    shipped_services: Services,
) -> None:
    # "企业应当公开…" states the duty and "…未依照本法规定对…企业标准进行编号的" rules on
    # another failure; "企业未依照本法规定公开其执行的标准的，由…责令限期改正" answers.
    result = shipped_services.assistant.ask(
        "要是一直不公开呢，会怎么样？",
        [Message("user", "企业自己定的标准，按法律要公开哪些内容？")],
    )
    assert not result.abstained
    assert "第三十八条" in result.answer[:60]
    assert "责令限期改正" in _lead(result.answer)
    consequence = ATTRIBUTES[[a.zh for a in ATTRIBUTES].index("不履行的后果")]
    assert consequence.asking_spans("那如果我们一直没公开呢，会怎么样？")
    assert not consequence.asking_spans("这个政策出台后会怎么样？")


def test_a_reference_to_a_part_of_a_text_is_no_figure(shipped_services: Services) -> None:
    assert not holds("figure", "应当符合前款第一项至第三项规定的标准")
    assert not holds("count", "依照本法第十一项的规定")
    assert holds("figure", "提取不低于百分之五十的比例") and holds("count", "共认定359家")
    # So the paragraph referring to the items does not answer for them: the item does.
    result = shipped_services.assistant.ask(
        "研发团队的一项职务成果我们转让给了别的公司，事先没约定奖励，法律上至少得分给他们多少？"
    )
    assert "百分之五十" in _lead(result.answer)


def test_a_situation_told_in_everyday_words_picks_the_paragraph_for_it(
    shipped_services: Services,
) -> None:
    # "都算不出来" is the law's "均难以确定": the paragraph for that case holds the range.
    result = shipped_services.assistant.ask(
        "有厂家仿了我们的专利产品拿去卖，我们亏了多少、他们挣了多少都算不出来，"
        "这种官司一般能判赔多少？"
    )
    assert not result.abstained
    assert "三万元以上五百万元以下" in _lead(result.answer)


def test_asked_of_home_ground_a_rule_on_income_from_abroad_is_the_opposite_case(
    shipped_services: Services,
) -> None:
    # "居民企业从其…控制的外国企业分得的来源于中国境外的股息、红利" is the other case:
    # a dividend from a company at home is "居民企业之间的股息、红利", 免税收入.
    result = shipped_services.assistant.ask(
        "我们持股的一家国内公司今年给我们分红了，这笔分红还要交企业所得税吗？"
    )
    assert not result.abstained
    assert "第二十六条" in result.answer[:60] and "免税收入" in _lead(result.answer)
    # A non-resident enterprise is one abroad: 第十九条 is the other case too.
    result = shipped_services.assistant.ask(
        "我们公司投了另一家国内公司，今年分到一笔分红，这笔钱还要再交企业所得税吗？"
    )
    assert "免税收入" in _lead(result.answer)
    # Asked of home and abroad alike, the rule on filing abroad stays in.
    filed_abroad = shipped_services.assistant.ask(
        "发明专利我们先在德国申请了，回国内再申请想要求优先权，最晚多久得提？"
    )
    assert "第二十九条" in _lead(filed_abroad.answer)


def test_how_long_asks_a_length_of_time_that_a_term_without_one_does_not_state(
    shipped_services: Services,
) -> None:
    assert "period" in read_intent("法律规定公示期是几天？").kinds
    assert "target" not in read_intent("今年终于赚钱了，之前的亏损最多能往后抵几年").kinds
    assert "target" in read_intent("今年要建几个孵化器").kinds
    assert "target" not in read_intent("明年估计能盈利了，亏损最多能往后结转几年").kinds
    assert "target" in read_intent("明年高企要达到多少家").kinds
    assert "money" not in read_intent("那补贴的钱一般几月份能打到账上？").kinds
    banned = shipped_services.assistant.ask(
        "科研人员伪造科研成果被查处，会被禁止几年承担财政资金支持的科技活动？"
    )
    assert banned.abstained  # the law bans "一定期限内", for no stated number of years
    appeal = shipped_services.assistant.ask("复审请求要在收到驳回通知后多少天内提？")
    assert "三个月" in appeal.answer[:200]


def test_the_askers_line_of_business_tells_little_unless_asked_about_again(
    shipped_services: Services,
) -> None:
    assistant = shipped_services.assistant
    told = {
        t.word: t.weight for t in assistant.need("我们是做环保设备的，捐赠支出怎么扣除？").terms
    }
    plain = {t.word: t.weight for t in assistant.need("环保设备的捐赠支出怎么扣除？").terms}
    assert told["设备"] < plain["设备"] and told["捐赠"] == plain["捐赠"]
    again = {t.word: t.weight for t in assistant.need("我们是做软件的，软件企业有优惠吗？").terms}
    assert again["软件"] == assistant.need("软件企业有优惠吗？").terms[0].weight


def test_using_a_method_before_the_patent_was_filed_finds_the_item_on_prior_use(
    shipped_services: Services,
) -> None:
    # The second of five items of a long article, reached through the law's words for it.
    result = shipped_services.assistant.ask(
        "对方申请专利之前我们就已经在用这个方法生产了，现在还能继续生产吗？"
    )
    assert not result.abstained
    assert "原有范围内继续制造" in _lead(result.answer)


def test_an_approximate_number_the_asker_tells_asks_nothing() -> None:
    assert not read_intent("我们是一家十几个人的软件公司").kinds
    assert not read_intent("园区里有几十家企业").kinds
    assert "count" in read_intent("去年认定了几家？").kinds
    assert "money" in read_intent("补贴能有几万？").kinds

    def subject(text: str) -> list[str]:
        return [w for w in ("软件", "小型微利企业") if w in text]

    # The asker's headcount is no part of its own.
    question = "我们是一家十几个人的软件公司，小型微利企业要满足什么条件？"
    assert question_parts(question, subject) == [question]


def test_a_few_told_in_a_closed_sentence_or_in_a_whether_question_asks_no_count() -> None:
    def subject(text: str) -> list[str]:
        return [w for w in ("团体标准", "会员", "企业标准") if w in text]

    # An asker who marks questions with ？ tells with 。
    told = "我们是个行业协会，准备牵头几家会员厂一起搞个团体标准。团标出来以后只能会员自己用，还是协会外面的企业也能拿去用？"
    assert not read_intent(told).kinds
    assert question_parts(told, subject) == [told]
    # … but a sentence closed with 。 still asks when no sentence is marked as a question.
    assert "count" in read_intent("公司成立三年了。去年认定了几家高企").kinds
    # "Can we, or can we with a few others": 几家 in an option of a whether-question.
    whether = "我们企业能不能自己定标准，或者拉几家同行一起定？"
    assert not read_intent(whether).kinds
    assert question_parts(whether, subject) == [whether]
    assert "count" in read_intent("能不能说一下，去年认定了几家？").kinds


def test_a_length_after_yiqian_or_zhihou_is_a_length(shipped_services: Services) -> None:
    assert holds("period", "在申请日以前六个月内") and holds("period", "之后两年内")
    assert not holds("period", "前一年") and not holds("period", "上一年度")
    result = shipped_services.assistant.ask(
        "样机先在政府办的国际展会上展出了，之后多久内去申请专利还不算丧失新颖性？"
    )
    assert not result.abstained
    assert "六个月内" in _lead(result.answer)


def test_na_asks_in_every_compound_so_the_story_before_it_only_tells(
    shipped_services: Services,
) -> None:
    assert asks("这个日子是哪一天") and asks("管到哪年") and not asks("哪怕只有一家")
    # "今年要办好…" tells what the district plans; the question asks a date, not a target.
    result = shipped_services.assistant.ask(
        "区科协说今年要办好科技工作者日活动，我们想配合一下，这个日子是哪一天？"
    )
    assert not result.abstained
    assert "5月30日" in _lead(result.answer)


def test_a_short_part_asking_again_what_the_part_before_asks_is_one_question() -> None:
    def subject(text: str) -> list[str]:
        return [w for w in ("高企", "措施", "大赛") if w in text]

    assert question_parts("高企措施管到哪年，什么时候失效", subject) == [
        "高企措施管到哪年，什么时候失效"
    ]
    # A start and a deadline are two things asked.
    assert len(question_parts("大赛什么时候开始报名，什么时候截止？", subject)) == 2


def test_a_tag_question_asks_with_the_clause_before_it(shipped_services: Services) -> None:
    assert tag_question("有规定吗") and not tag_question("所得税上能有优惠吗")
    # The tagged clause is what is asked: the law it names is not indexed.
    result = shipped_services.assistant.ask(
        "老板让我查一下个人所得税年度汇算几月几号截止，有规定吗？"
    )
    assert result.abstained and "个人所得税" in result.answer
    # … and asks whether: 几个 there says "a few".
    assert not read_intent("有几个指标想定得比强制性标准宽松一点，可以吗？").kinds


def test_a_calendar_year_is_no_date_to_register_by(shipped_services: Services) -> None:
    assert not holds("time", "组织开展2025年“创·在上海”国际创新创业大赛")
    assert holds("period", "诉讼时效为三年") and holds("time", "自申请日起十二个月内")
    assert "time" in read_intent("大赛几号开始报名？").kinds
    result = shipped_services.assistant.ask("今年的创在上海大赛赛区什么时候开始报名？")
    assert result.abstained


def test_asking_whether_a_figure_is_written_asks_the_figure(shipped_services: Services) -> None:
    assert "figure" in read_intent("专利法里有写具体数吗").kinds
    result = shipped_services.assistant.ask("专利的年费每年交多少钱？法律上有规定具体金额吗？")
    assert result.abstained  # 第四十三条 says a fee is paid, not how much


def test_a_statutory_term_of_a_law_not_indexed_is_said_to_be_uncovered(
    shipped_services: Services, foreign_services: Services
) -> None:
    # 所得税 is the shipped documents' word; 个人所得税 is the 个人所得税法's, which they lack.
    asked = "科研人员拿到的成果转化奖励，个人所得税怎么算？"
    result = shipped_services.assistant.ask(asked)
    assert result.abstained
    assert "未涉及个人所得税" in result.answer
    assert not foreign_services.assistant.ask("员工年终奖的个人所得税怎么算？").abstained
    # Told, not asked, such a term is the asker's story: the question is still answered.
    told = shipped_services.assistant.ask(
        "股东会已经决定注销公司了，清算所得的企业所得税要在注销登记之前申报吗？"
    )
    assert not told.abstained and "办理注销登记前" in _lead(told.answer)


def test_a_text_naming_both_things_asked_to_choose_between_decides_neither(
    shipped_services: Services,
) -> None:
    result = shipped_services.assistant.ask(
        "我们40个人，营收2000万，按中小企业促进法是小型企业还是中型企业？"
    )
    assert result.abstained
    assert "小型企业还是中型企业" in result.answer


def test_a_short_part_leans_back_never_forward() -> None:
    def subject(text: str) -> list[str]:
        return [w for w in ("研究员", "兼职", "报酬", "股权", "期权", "激励") if w in text]

    parts = question_parts(
        "研究员来公司兼职，他能拿报酬吗，要满足什么条件？另外想用股权、期权做激励，法律上支持吗？",
        subject,
    )
    assert len(parts) == 3
    # The first two are about the opening's 研究员 and 兼职, not the later 股权 and 期权.
    assert not any(w in parts[0] + parts[1] for w in ("股权", "期权"))
    assert "报酬" in parts[1]
    # "赚了多少都算不清" tells; it asks nothing.
    assert len(question_parts("他们赚了多少都算不清，法院能判多少赔偿？", subject)) == 1


def test_a_sentence_is_embedded_once_and_the_closest_in_meaning_scores_highest(
    shipped_services: Services,
) -> None:
    similarity = SentenceSimilarity(shipped_services.embeddings)
    embedded: list[int] = []
    real = similarity.embeddings.embed_batches

    def counted(texts, progress=None):  # type: ignore[no-untyped-def]
        embedded.append(len(texts))
        return real(texts, progress)

    similarity.embeddings.embed_batches = counted  # type: ignore[method-assign]
    try:
        sentences = ["试用期不得超过六个月。", "对首次认定的企业给予一次性奖励30万元。"]
        first = similarity.scores("试用期最长多久", sentences)
        again = similarity.scores("高企奖励多少", sentences)
    finally:
        del similarity.embeddings.embed_batches
    assert embedded == [2]
    assert first[0] > first[1] and again[1] > again[0]


def test_a_degree_the_asker_denies_rules_out_the_paragraph_for_that_degree() -> None:
    denied = denied_degrees("情节不算严重的话，主管人员罚多少")
    assert denied == {"严重"}
    assert degree_fit(denied, "情节严重的，由省级以上部门责令改正，处五千万元以下罚款") == -1
    assert degree_fit(denied, "对直接负责的主管人员处一万元以上十万元以下罚款") == 0
    assert denied_degrees("员工严重违反规章制度，能解除合同吗") == frozenset()


def test_a_list_item_is_read_and_quoted_after_the_sentence_that_introduces_its_list(
    foreign_services: Services,
) -> None:
    # "（六）被依法追究刑事责任的" alone says nothing of dismissal; its stem does.
    result = foreign_services.assistant.ask("员工被判刑了，公司可以跟他解除劳动合同吗")
    assert not result.abstained
    lead = _lead(result.answer)
    assert "用人单位可以解除劳动合同：……（六）被依法追究刑事责任的" in lead
    assert result.citations[0].quote.startswith("（六）")


def test_an_items_stem_is_the_sentence_ending_in_the_colon_before_its_list() -> None:
    text = "第一款。劳动者有下列情形之一的，用人单位可以解除劳动合同：\n（一）甲的；\n（二）乙的；"
    stem = item_stem(text, text.index("（二）"))
    assert stem is not None
    assert text[slice(*stem)] == "劳动者有下列情形之一的，用人单位可以解除劳动合同："
    assert item_stem(text, text.index("劳动者")) is None  # not an item
    contact = "联系电话：021-5970。（一）另起"
    assert item_stem(contact, contact.index("（一）")) is None  # the colon is no list's


def test_the_degree_that_opens_a_paragraph_holds_for_its_later_sentences() -> None:
    text = (
        "违反本法规定的，处一万元以上十万元以下罚款。\n"
        "有前款规定的违法行为，情节严重的，并处五千万元以下罚款；"
        "对直接负责的主管人员处十万元以上一百万元以下罚款。"
    )
    chunk = Chunk("c#0", "c", "某法", "", "第六十六条", text, 0, len(text))
    later = text.index("对直接负责")
    opening = opening_of_paragraph(Span(0, chunk, later, len(text)))
    assert "情节严重的" in opening
    assert degree_fit(frozenset({"严重"}), opening + text[later:]) == -1
    first = Span(0, chunk, 0, text.index("\n"))
    assert opening_of_paragraph(first) == ""


def test_what_is_granted_only_to_a_sibling_class_is_said_to_be_stated_only_for_it(
    foreign_services: Services,
) -> None:
    # The housing measures define three classes of talent; only the first gets a purchase
    # subsidy. Asked for another class's, the reply says so and gives no amount.
    result = foreign_services.assistant.ask("北汀区技能骨干的购房补贴有多少")
    assert result.abstained
    assert "文件只对领军人才载明了这一项" in result.answer
    assert "100万元" not in result.answer


def test_the_classes_a_document_divides_something_into_are_named_things() -> None:
    text = "第三条　科技人才分为以下三类：\n（一）领军人才：入选计划；\n（二）青年英才：年龄不超过35周岁；\n（三）技能骨干：具有职业资格。\n第四条　（一）身份证明："
    assert classified_names([text]) == {"领军人才", "青年英才", "技能骨干"}


def test_a_question_between_two_alternatives_asks_which_not_how_much() -> None:
    assert not read_intent("有限公司分红是按认缴还是实缴比例来分").kinds & {"percent", "figure"}
    # Offering a percentage as one side, it asks the percentage.
    assert "percent" in read_intent("加计扣除是按100%加计还是别的比例？").kinds
    assert "percent" in read_intent("分红比例是多少").kinds
    assert "money" in read_intent("按认缴还是实缴算，能拿多少钱").kinds


def test_asking_which_kinds_of_a_subsidy_asks_no_amount(shipped_services: Services) -> None:
    assert not read_intent("区级高企补贴分哪几种情况给？").kinds & {"money", "figure"}
    assert "money" in read_intent("补贴能有几万？").kinds
    # So the sentence naming the kinds answers, not one stating a total paid out.
    result = shipped_services.assistant.ask("区里的高企补贴分哪几种情况发？")
    assert "首次认定补贴" in _lead(result.answer)


def test_what_one_firm_may_be_granted_at_most_is_not_the_total_granted_to_all(
    shipped_services: Services,
) -> None:
    # "20家企业通过科创助力贷审批,授信额度共计5700万元" is what all twenty got together.
    result = shipped_services.assistant.ask("科创助力贷一家企业最多能批多少？")
    assert result.abstained
    assert "5700万元" not in _lead(result.answer)


def test_a_percentage_offered_as_a_choice_is_not_answered_without_one(
    shipped_services: Services,
) -> None:
    # The law lets R&D costs be deducted extra "按照国家有关规定" and states no percentage.
    result = shipped_services.assistant.ask("研发费用加计扣除是按100%加计还是别的比例？")
    assert result.abstained
    assert "比例" in result.answer[:60]


def test_a_contact_asked_for_is_read_from_the_line_that_closes_the_document(
    foreign_services: Services,
) -> None:
    # The contact line shares no word with the question; the question's document holds it.
    result = foreign_services.assistant.ask("临溪区孵化器政策有问题该找哪个部门，电话是多少")
    assert not result.abstained
    lead = _lead(result.answer)
    assert "创新服务科" in lead and "021-0000-0102" in lead
    assert "未载明" not in lead


@pytest.mark.parametrize(
    "line", ["电话：021-59731234", "电话：021-5973-1234", "电话：（021）59731234", "13912345678"]
)
def test_a_phone_number_is_recognized_in_the_forms_documents_write_it(line: str) -> None:
    phone = next(a for a in ATTRIBUTES if a.zh == "联系电话")
    assert phone.holds.search(line)


def test_a_span_of_months_speaks_of_the_year_it_mostly_covers(shipped_services: Services) -> None:
    assert years_spoken("2023年12月至2024年11月累计认定登记技术合同839项") == {"2024"}
    assert years_spoken("《张江高新区青浦园改革创新发展行动方案(2025-2026年)》") == {"2025", "2026"}
    assert years_spoken("2024年11月至2025年2月") == {"2024", "2025"}
    # The document's figure for Dec 2023 to Nov 2024 is no answer to what 2023 came to …
    result = shipped_services.assistant.ask("2023年全区技术合同成交额是多少？")
    assert result.abstained and "213.79亿元" not in _lead(result.answer)
    # … and is the answer for the year it mostly covers.
    result = shipped_services.assistant.ask("2024年技术合同成交额多少")
    assert not result.abstained and "213.79亿元" in _lead(result.answer)


def test_a_sum_in_ten_thousands_asks_money_and_a_rate_does_not_answer_it(
    shipped_services: Services,
) -> None:
    assert "money" in read_intent("年应纳税所得额在多少万以内才能享受？").kinds
    assert "money" not in read_intent("科普活动吸引了多少万人次？").kinds
    # The law gives the 20% rate, not the income under which a small firm gets it.
    result = shipped_services.assistant.ask(
        "小微企业那个20%的优惠税率，年应纳税所得额在多少万以内才能享受？"
    )
    assert result.abstained


def test_asked_what_was_achieved_a_plans_aim_does_not_answer(shipped_services: Services) -> None:
    # The plan issued in January 2025 aims at 4.7% for 2025; what 2025 came to it cannot say.
    result = shipped_services.assistant.ask("青浦2025年全社会研发投入强度最后实际达到了多少？")
    assert result.abstained and "4.7%" not in _lead(result.answer)
    assert "最后" not in result.answer[:30]
    result = shipped_services.assistant.ask("青浦2024年研发投入强度实际达到多少")
    assert not result.abstained and "4.53%" in _lead(result.answer)


def test_a_rate_of_one_tax_is_not_given_for_another(shipped_services: Services) -> None:
    # 第二十八条's 20% is 企业所得税's: asked of 增值税, it is a sibling's figure.
    for asked in (
        "小微企业增值税税率是多少",
        "As a small business in China, what VAT rate do we pay? Is there a reduced rate?",
    ):
        result = shipped_services.assistant.ask(asked)
        assert result.abstained and "20％" not in _lead(result.answer), asked
        assert "企业所得税" in result.answer


def test_an_english_question_naming_a_tax_rate_is_not_answered_by_a_share(
    shipped_services: Services,
) -> None:
    # 第四十五条's 百分之五十 is a share of the transfer income paid to the inventors.
    result = shipped_services.assistant.ask(
        "What VAT rate applies to our income from technology transfer? Is it VAT-exempt?"
    )
    assert result.abstained and "百分之五十" not in _lead(result.answer)


def test_asking_how_many_things_and_their_names_asks_the_names(shipped_services: Services) -> None:
    assert not read_intent("几个核心产品分别叫啥？").kinds
    assert "money" in read_intent("有哪些产品，贷款额度多少").kinds
    # "三大核心差异性产品" writes no count the reader knows; the names are the answer.
    result = shipped_services.assistant.ask("区里那个3+X科技信贷体系，几个核心产品分别叫啥？")
    assert not result.abstained and "微贷通、履约贷和信用贷" in _lead(result.answer)


def test_asking_which_one_quotes_the_clause_that_names_it(shipped_services: Services) -> None:
    # The sentence's later clause repeats more of the question's words (全区首家市高质量孵化器);
    # the one naming an incubator of its own is what "哪家孵化器" asks.
    result = shipped_services.assistant.ask(
        "区里说要争取建全区首家市高质量孵化器，重点在指导哪家孵化器？"
    )
    assert not result.abstained and "北斗西虹桥孵化器" in _lead(result.answer)


def test_asked_a_documents_name_only_a_sentence_naming_one_answers(
    shipped_services: Services,
) -> None:
    result = shipped_services.assistant.ask(
        "听说区里去年专门出了个高企补贴的文件，那个文件全称叫什么？"
    )
    assert not result.abstained
    assert "《青浦区关于高新技术企业补贴的实施办法》" in _lead(result.answer)


def test_not_much_is_told_not_asked_and_the_bracket_for_little_gain_answers(
    shipped_services: Services,
) -> None:
    assert not asks("估计也没赚几个钱") and not asks("听说他们也没挣多少")
    assert asks("最多能罚他多少")
    # 第六十八条: 违法所得五倍以下 in general; 二十五万元以下 with little or no gain.
    result = shipped_services.assistant.ask(
        "有家小厂在自己产品上印我们的专利号，估计也没赚几个钱，执法部门最多能罚多少？"
    )
    assert not result.abstained and "二十五万元以下" in _lead(result.answer)


def test_a_clause_defining_its_subject_by_another_paragraph_speaks_of_what_it_says(
    shipped_services: Services,
) -> None:
    article_3 = Chunk(
        "a3",
        "law",
        "某法",
        "",
        "第一章 > 第三条",
        "居民企业应当纳税。\n非居民企业未设立机构、场所的，应当纳税。",
        0,
        30,
    )
    references = References([article_3])
    assert references.of(article_3, "非居民企业取得本法第三条第二款规定的所得，适用税率为20％") == (
        "非居民企业未设立机构、场所的，应当纳税。"
    )
    # Citing a rule, or what an article leaves out, says nothing of its subject.
    assert references.of(article_3, "依照本法第三条的规定") == ""
    assert references.of(article_3, "本法第三条规定以外的其他情形") == ""
    # 第四条's 20% is for the income of 第三条第三款: no establishment in China.
    result = shipped_services.assistant.ask(
        "Our German parent has no office or establishment in China but receives royalties from "
        "our subsidiary. What is the statutory enterprise income tax rate on that income?"
    )
    assert not result.abstained and "20％" in _lead(result.answer)
