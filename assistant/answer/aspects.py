"""What a question may ask about besides its subject: data tables and the places it names.

A specific attribute (a phone number, a deadline, an amount per enterprise) is asked in words
of its own and held by a passage in a form of its own. Some words name an aspect or a time,
never a subject; some requests lie outside policy documents altogether; and the places a
question names must be ones the passage speaks of.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from assistant.site import SiteVocabulary
from assistant.text.vocabulary import NO_SITE_WORDS, has_chinese, lexicon_words, normalize

_DATA = resources.files("assistant.text") / "data"


@dataclass(frozen=True)
class Attribute:
    """A specific thing a question may ask for, and what a passage holding it looks like."""

    zh: str
    en: str
    asks: re.Pattern[str]
    holds: re.Pattern[str]
    # Stated apart from what it is about (a contact line closing the document), so it is
    # looked for in the documents the question finds, not only by search.
    locates: bool = False

    def asking_spans(self, question: str) -> list[tuple[int, int]]:
        """Where the question asks for it: a match, or its `ask…` group when the rest of the
        match only says to whom ("对新建站|给多少|补贴": 新建站 stays a subject word)."""
        spans = []
        for m in self.asks.finditer(question):
            groups = [g for g in m.groupdict() if g.startswith("ask") and m.group(g)]
            spans.append(m.span(groups[0]) if groups else m.span())
        return spans


FAILURE = "不履行的后果"  # what follows a failure to act: asked of the failed action

ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(
        "联系电话",
        "phone number",
        re.compile(r"电话|热线|联系方式|怎么联系|phone|hotline|telephone|contact"),
        # 021-59731234, 021-5973-1234, (021)59731234, a mobile number, the 12345 hotline.
        re.compile(
            r"\d{3,4}[-－]\d{7,8}|\d{3,4}[-－ ]\d{3,4}[-－ ]\d{4}|[（(]0\d{2,3}[)）]\s?\d{7,8}|"
            r"(?<!\d)1[3-9]\d{9}(?!\d)|12345"
        ),
        locates=True,
    ),
    Attribute(
        "办公地址",
        "address",
        re.compile(r"地址|办公地点|窗口在哪|在哪里办|去哪办|address|office location"),
        re.compile(r"[路街弄]\d+号"),
        locates=True,
    ),
    Attribute(
        "网址或邮箱",
        "website or e-mail",
        re.compile(r"网址|网站|邮箱|email|e-mail|website|url"),
        re.compile(r"https?://|www\.|@"),
        locates=True,
    ),
    Attribute(
        "截止日期",
        "deadline",
        re.compile(
            r"截止|最晚|申报时间|申请时间|什么时候(?:申报|申请|报名)|几号(?:前|之前|截止)|"
            r"deadline|due date|closing date"
        ),
        re.compile(
            r"(?:截止|截至|之前|以前)(?:日期|时间)?.{0,3}\d{1,2}月\d{1,2}日|"
            r"\d{1,2}月\d{1,2}日(?:前|之前|以前|截止|止)|至\d{1,2}月\d{1,2}日|"
            r"之日起.{0,16}(?:日|月|年)内|"
            r"期限|届满|[一二三四五六七八九十\d]+日内"
        ),
    ),
    Attribute(
        "申报方式",
        "how and where to apply",
        re.compile(
            r"在哪(?:里|儿)?(?:报名|申报|申请|提交|办理)|去哪(?:里|儿)?(?:报名|申报|申请|提交|办理)|"
            r"(?:怎么|如何|怎样)(?:报名|申报|申请|报)|(?:申报|申请)(?:流程|程序|方式)|"
            r"通过什么(?:渠道|平台|系统)|where (?:do|can|should) (?:we|i) (?:apply|register|file)|"
            r"how (?:do|can|should) (?:we|i) apply"
        ),
        # A channel, a step or a time to apply, or that no application is needed.
        re.compile(
            r"平台|网站|系统|窗口|服务中心|政务服务|http|www\.|线上|线下|现场|邮寄|提交|受理|"
            r"申报时间|申请时间|免申|无需申请|自动"
        ),
    ),
    Attribute(
        "利率",
        "interest rate",
        re.compile(r"利率|利息|年化|interest"),
        re.compile(r"利率|利息|年化|贴息"),
    ),
    Attribute(
        "单家企业的金额或标准",
        "amount or standard per enterprise",
        re.compile(
            r"每家|每个企业|每户|单家|单个企业|一家(?:企业)?(?:最多|最高)?(?:能|可以|可)?(?:拿|得|领|补|贷|批)|"
            r"(?:我们|我司|我家|咱们|公司|企业)(?:一般)?(?:能|可以|可)?(?:拿|领|得|获得)(?:到)?的?.{0,8}(?:金额|多少|钱)|"
            r"能(?:拿|领|得)(?:到)?多少|"
            # Given to one recipient: "对新建站给多少补贴", "被认定为…企业，区里给多少".
            r"对[^，,。？?]{1,12}(?P<ask1>(?:给|补|奖|资助)多少)|"
            r"对[^，,。？?]{1,16}的(?P<ask3>(?:资助|补贴|奖励|补助)(?:金额|标准)?是?多少)|"
            r"(?:认定|评为|入选|获评)为?[^。？?]{0,16}[，,][^。？?]{0,6}(?P<ask2>(?:给|补|奖|拿)多少)|"
            r"(?:补贴|资助|奖励|补助|奖补)标准|标准是多少|per (?:company|enterprise|firm)|"
            r"each (?:company|enterprise|firm)"
        ),
        re.compile(r"每家|每户|每个|每项|单家|最高|不超过|标准为|给予.{0,12}元"),
    ),
    Attribute(
        "最高额度",
        "maximum amount",
        re.compile(
            r"最高(?:能|可|可以)?(?:贷|补|拿|给|奖|批|资助|额度|多少)|最多(?:能|可|可以)?(?:贷|补|拿|给|批)|"
            r"最长|最久|上限|封顶|maximum|max\b|up to|at most|ceiling|longest"
        ),
        re.compile(r"最高|最多|最长|不超过|不得超过|上限|封顶|以内|以下"),
    ),
    Attribute(
        "奖励或补贴",
        "benefit",
        re.compile(
            r"(?:有什么|有哪些|有没有|能拿|能享受|能得到|给什么|给予什么)(?:奖励|补贴|补助|资助|奖补|"
            r"扶持|优惠|支持政策)|what (?:benefit|subsidy|subsidies|reward|support)"
        ),
        re.compile(
            r"奖励|补贴|补助|资助|奖补|优惠|扶持|减按|免征|减征|加计扣除|贴息|配套资金|"
            r"支持|鼓励|享受"
        ),
    ),
    Attribute(
        "条件",
        "conditions",
        re.compile(
            r"(?:满足|符合|具备)(?:哪些|什么)?条件|什么条件|哪些条件|门槛|什么资格|"
            r"what (?:conditions|requirements|criteria)|requirements? for"
        ),
        # A condition is stated as one, or as a threshold on whom a measure is for
        # ("对上一年度研发费用投入超过500万元的企业").
        re.compile(
            r"(?<!符合)条件(?!的)|下列|应当具备|资格|须|必须|"
            r"(?:对|面向).{0,30}(?:超过|以上|不低于|不少于|达到|满)[^，。；]{0,20}的"
        ),
    ),
    Attribute(
        "法律责任",
        "penalty",
        # "会被怎么处理", "怎么罚", "罚多少": what befalls one who breaks a rule, which the rule
        # itself ("企业应当公开…") does not say.
        re.compile(
            r"被(?:怎么|如何|怎样)?(?:处理|处罚|罚|查处)|怎么(?:处罚|罚)|罚(?:款|多少|钱)|处罚|"
            r"法律责任|追究|penalt|\bfined?\b|punish|sanction"
        ),
        re.compile(
            r"责令|罚款|处罚|处分|没收|吊销|撤销|追究|赔偿|处以|警告|通报|依法给予|"
            r"承担[^。；]{0,10}责任|禁止[^。；]{0,20}(?:承担|参与|申请)"
        ),
    ),
    Attribute(
        FAILURE,
        "consequence of a failure",
        # "一直没公开会怎么样", "专利搁着不用有什么后果": what follows a failure to act. A
        # sanction answers it, or a rule on that failure ("…未…公开…的，由…", "在合理期限内
        # 没有实施…的，国家可以…"); the duty itself ("企业应当公开…") does not.
        re.compile(
            r"(?:没|不|未)[^。？?]{0,14}(?P<ask>会怎(?:么|样)(?:样)?|(?:有|会有|是)什么(?:后果|影响)|"
            r"后果|会不会有(?:事|问题|麻烦))|what happens if|consequences? (?:of|if)"
        ),
        re.compile(
            r"责令|罚款|处罚|处分|没收|吊销|撤销|追究|赔偿|处以|警告|通报|依法给予|"
            r"承担[^。；]{0,10}责任|(?:未|没有|不|逾期)[^。；，：]{0,20}的[，,]"
        ),
    ),
    Attribute(
        "联系部门",
        "office to contact",
        re.compile(
            r"(?:哪个|哪家|什么)(?:科室|部门|处室|单位)(?!发)|找谁|联系部门|主管部门|"
            r"哪位(?:老师|领导|工作人员|同志)?|对接人|联系人|"
            r"which (?:office|department)|who (?:do|should) we (?:contact|ask)"
        ),
        re.compile(r"联系部门|联系人|[科处室局委办中心][:：，,]|负责|受理"),
        locates=True,
    ),
    Attribute(
        "奖金",
        "prize money",
        re.compile(r"奖金|奖多少|prize"),
        re.compile(r"奖金|奖励.{0,10}元|奖.{0,6}元"),
    ),
)

# Words that name an aspect, a time or nothing at all, not a subject: "那今年的目标呢" and
# "其中市级的有几家" have no subject of their own, though 目标 and 其中 are rare in the documents.
# They are not weighed as subject words either: the asked kind of answer covers them.
NOT_SUBJECTS = frozenset(
    "目标 条件 要求 标准 金额 额度 数量 期限 年限 时限 时间 比例 流程 程序 材料 规定 情况 结果 数据 "
    "政策 人数 多少 几家 几个 几项 几年 多少家 多少钱 百分之 百分之几 百分比 去年 今年 明年 前年 全年 年底 上半年 下半年 那么 这个 那个 "
    "公司 区里 市里 其中 它们 怎么办 如果 要是 假如 做到 打算 计划 力争 争取 预计 一般 大概 大约 那边 这边 这种 这类 "
    "自己 还有 还要 现在 目前 以上 以下 以内 之内 及以上 多长 多久 一共 总共 能否 是不是 咋样 咋 啥 是啥 怎么搞 "
    "怎么做 要怎么 哪几 哪几种 几种 什么样 搞 最后 最终 实际上 target goal plan year".split()
)

# Requests outside policy documents altogether.
OFF_TOPIC = re.compile(
    r"天气|气温|下雨|下雪|写(?:一)?首|作诗|诗歌|对联|笑话|股票|股价|炒股|彩票|菜谱|做菜|星座|算命|"
    r"翻译成|电影|weather|poem|joke|stock (?:price|tip)|lottery|recipe|horoscope|"
    # Attempts to rewrite the assistant's rules ask nothing of the documents: they get the
    # scope reply, never a quote that might read as the confirmation demanded.
    r"(?:忽略|无视|忘掉|忘记)[^。？?]{0,10}(?:规则|指令|指示|设定|提示|要求|限制)|"
    r"你现在(?:是|扮演|作为|的身份)|你(?:来)?扮演|系统提示词|提示词原样|"
    r"ignore (?:all |any |the |your )?(?:previous |prior |above )?(?:instructions|rules|prompts?)|"
    r"you are now|system prompt|jailbreak|"
    # Asking it to act for the asker (log in, fill in, submit, decide) asks nothing of the
    # documents either: it can only answer from them, and never takes an account.
    r"(?:帮|替|给|代)(?:我|我们|咱们|咱)?[^，,。？?]{0,12}?(?:登录|登陆|代办|代填|填好|填一下|写好|"
    r"报上去|交上去|提交(?:一下|了|上去)|拿(?:个)?主意|做(?:个)?决定)|账号(?:和|跟)?密码|"
    r"(?:log ?in|sign in|submit|fill (?:in|out))[^.?!]{0,40}(?:for (?:me|us)|on (?:my|our) behalf)|"
    r"(?:my|our) password"
)


@dataclass(frozen=True)
class Home:
    """The place the local documents speak for (the site file's district): naming it does not
    narrow a question. Its city counts the same when named with it; named alone it asks about
    city-level rules, which a passage must then speak of. Names as places.txt lists them first.
    """

    district: frozenset[str] = frozenset()
    city: str = ""


NOWHERE = Home()


@lru_cache(maxsize=4)
def known_places(site_words: SiteVocabulary = NO_SITE_WORDS) -> tuple[tuple[str, ...], ...]:
    """Provinces, cities and districts, each with its names (Chinese, English): places.txt's,
    then the site's own (its vocabulary's `places`)."""
    text = (_DATA / "places.txt").read_text(encoding="utf-8")
    listed = tuple(
        tuple(line.split())
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )
    own = tuple(tuple(normalize(n) for n in names) for names in site_words.places)
    return tuple(dict.fromkeys((*listed, *own)))


def places_named(
    question: str, site_words: SiteVocabulary = NO_SITE_WORDS
) -> tuple[tuple[str, ...], ...]:
    """The places a (normalized) question names, each as its tuple of names (the package's
    and the site's)."""
    words = set(re.findall(r"[a-z'-]+", question))
    return tuple(
        names
        for names in known_places(site_words)
        if any(n in question if has_chinese(n) else n in words for n in names)
    )


@lru_cache(maxsize=4)
def domain_entities(site_words: SiteVocabulary = NO_SITE_WORDS) -> frozenset[str]:
    """The named things of the domain (loan products, qualifications…): the lexicon's, and the
    site's own words (its vocabulary's `words`: a park's name)."""
    return frozenset(normalize(w) for w in (*lexicon_words(), *site_words.words))
