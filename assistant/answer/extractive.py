"""The extractive answerer: short Chinese answers built only from quoted sentences.

It needs no model. It leads with the sentence that holds what was asked (the figure next to
its subject, the document title, the condition), cites it, and adds a sentence or two only
when they answer a part the first does not. Every statement is a quote of the source, so it
cannot state a figure the documents do not contain.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from importlib import resources

from assistant.answer.grounding import Assessment, subject_phrase
from assistant.answer.need import Need
from assistant.answer.support import (
    LIST_SENTENCE,
    MAX_SENTENCE,
    Span,
    Support,
    item_stem,
    quote_span,
)
from assistant.answer.verification import chinese_to_int
from assistant.models import NOTE, Answer, Chunk, Citation
from assistant.text.items import is_item
from assistant.text.vocabulary import has_chinese, normalize, parse_synonyms

SCOPE_HEAD = "我是政策文件问答助手，只能回答收录文件中的内容"
SCOPE_EN = (
    "I answer questions from the policy documents indexed here, and only from them; "
    "I cannot act for you or answer other topics. What they hold, in Chinese:"
)
_LAW_PREFIX = "中华人民共和国"
_ARTICLE = re.compile(r"^第[一二三四五六七八九十百零〇\d]+条")
_TRAILING = "，,；;：:、。 \n"
_MAX_STATEMENTS = 3
RELATED_SHARE = 0.5  # a related clause holds at least this share of the closest one's subject
ARTICLE_QUOTE = 160  # law articles up to this length are quoted whole


def indexed_text(documents: Iterable[tuple[str, str, str, str]], brief: bool = False) -> str:
    """What the index holds, in a phrase: each issuer's documents with one of their 文号, then
    the national laws by name. `documents` are (title, 文号, issuer, kind) in index order.

    `brief` names the issuers and "国家法律" only: no 文号, whose figures an abstention must
    not state."""
    by_issuer: dict[str, str] = {}
    laws: list[str] = []
    for title, number, issuer, kind in documents:
        if kind == "法律":
            laws.append(title.removeprefix(_LAW_PREFIX))
        elif issuer:
            by_issuer.setdefault(issuer, number)
            by_issuer[issuer] = by_issuer[issuer] or number
        else:
            by_issuer.setdefault("", "")
    parts = [
        f"{issuer}的文件（如{number}）" if number and not brief else f"{issuer}的文件"
        for issuer, number in by_issuer.items()
        if issuer
    ]
    if "" in by_issuer:
        parts.append("其他政策文件")
    if laws and brief:
        parts.append("国家法律")
    elif laws:
        shown = "、".join(laws[:8])
        parts.append(f"{shown}等国家法律")
    return "，以及".join(["；".join(parts[:-1]), parts[-1]]) if len(parts) > 1 else "".join(parts)


def scope_message(indexed: str, topics: str = "") -> str:
    """The reply to a question outside the documents: what they hold, then the site's words."""
    held = f"：{indexed}。" if indexed else "。"
    return f"{SCOPE_HEAD}{held}{topics}"


def article_of(chunk: Chunk) -> str:
    """The article a law chunk belongs to ("第二十八条"), or "" for other documents."""
    last = chunk.section.split(" > ")[-1] if chunk.section else ""
    return last if _ARTICLE.match(last) else ""


def statement(span: Span) -> str:
    """A quote turned into a statement: law articles say which law and article they are from.

    A later piece of a long article is read after its opening clause ("下列支出不得扣除：……
    （六）赞助支出"), which the chunk keeps as its lead.
    """
    text = span.text.strip().rstrip(_TRAILING)
    # An item of a list is read after the sentence that introduces the list ("劳动者有下列情形
    # 之一的，用人单位可以解除劳动合同：……（二）严重违反用人单位的规章制度的").
    stem = item_stem(span.chunk.text, span.start)
    article = article_of(span.chunk)
    if stem is not None:
        opening = f"{span.chunk.text[slice(*stem)]}……"
    elif article and is_item(span.chunk.text, span.start):
        # The item's stem opened the article in an earlier piece of it: the chunk's lead.
        lead = span.chunk.lead.strip()
        opening = f"{lead}……" if lead and not text.startswith(lead) else ""
    else:
        opening = ""
    if article:
        return f"《{span.chunk.title}》{article}规定：{opening}{text}"
    return f"{opening}{text}"


def whole_article(span: Span) -> Span:
    """A short law article is quoted whole: its sentences answer together ("可以转让……应当订立
    书面合同"), and picking one of them loses the rule."""
    chunk = span.chunk
    if article_of(chunk) and len(chunk.text) <= ARTICLE_QUOTE:
        return Span(span.rank, chunk, 0, len(chunk.text), span.standing)
    return span


def cite(n: int, span: Span) -> Citation:
    return Citation(n, span.chunk, span.text, span.doc_start, span.doc_end)


def _overlaps(a: Span, b: Span) -> bool:
    return a.chunk.chunk_id == b.chunk.chunk_id and a.start < b.end and b.start < a.end


def choose(
    need: Need, supports: Sequence[Support], most: int = 2, limit: int = MAX_SENTENCE
) -> list[Span]:
    """The sentences to answer with: the best one, then others that add what it lacks, up to
    `most` (more when a list is asked), each quoted whole up to `limit` characters."""
    if not supports:
        return []
    best = supports[0]
    picks = [best]
    covered = set(best.terms)
    count = max(most, _MAX_STATEMENTS) if need.asks_list else most
    # A question asking two things ("传播量目标、科普阵地要建几个") may need its second answer
    # from a sentence that scores lower, since it holds the other half of the words.
    floor = 0.6 if need.asks_several else 0.75
    for s in supports[1:]:
        if len(picks) >= count:
            break
        if s.score < floor * best.score:
            break
        if any(_overlaps(s.span, p.span) for p in picks):
            continue
        adds_terms = bool(s.terms - covered)
        if need.asks_list or adds_terms:
            picks.append(s)
            covered |= s.terms
    spans: list[Span] = []
    for s in picks:
        span = quote_span(s, LIST_SENTENCE if need.asks_list else limit)
        span = whole_article(span) if limit == MAX_SENTENCE else span
        if not any(_overlaps(span, o) for o in spans):
            spans.append(span)
    return spans


def answer(
    need: Need, assessment: Assessment, issuers: Mapping[str, str], scope: str = SCOPE_HEAD + "。"
) -> Answer:
    """Compose the answer (or the abstention) for an assessed question; `scope` is the reply
    to a question outside the documents (see `scope_message`)."""
    intent = need.kind
    if assessment.verdict == "out_of_scope":
        reply = f"{SCOPE_EN}\n{scope}" if need.english else scope
        return Answer(reply, (), abstained=True, intent="out_of_scope", question=need.question)
    if assessment.verdict == "abstain":
        return abstain(need, assessment, issuers, intent)
    spans = choose(need, assessment.supports)
    derived = ""
    if _ASKS_DIFFERENCE.search(need.question):
        spans, derived = difference(spans, assessment.candidates)
    citations = tuple(cite(n, s) for n, s in enumerate(spans, 1))
    body = "".join(f"{statement(s)}[{n}]。" for n, s in enumerate(spans, 1))
    lead = f"{english_lead(spans)}\n" if need.english and spans else ""
    return Answer(
        f"{lead}{derived}{body}\n{NOTE}", citations, intent=intent, question=need.question
    )


# English names of laws, whose first English member of a synonym group is their name.
_SMALL_WORDS = frozenset("a an and for in of on the to".split())
_ACRONYMS = frozenset("sme smes eit s&t r&d ip".split())


@lru_cache(maxsize=1)
def _law_names() -> dict[str, str]:
    """Each law's English name by its Chinese short title (专利法 → Patent Law)."""
    text = (resources.files("assistant.text") / "data" / "synonyms.txt").read_text("utf-8")
    names: dict[str, str] = {}
    for group in parse_synonyms(text):
        if not group[0].endswith("法"):
            continue
        english = next((m for m in group if not has_chinese(m)), "")
        if english:
            for member in group:
                if has_chinese(member):
                    names.setdefault(member, _title_case(english))
    return names


def _title_case(name: str) -> str:
    words = name.split()
    return " ".join(
        w.upper()
        if w in _ACRONYMS
        else w
        if w in _SMALL_WORDS and i > 0
        else "-".join(p.capitalize() for p in w.split("-"))
        for i, w in enumerate(words)
    )


def english_lead(spans: Sequence[Span]) -> str:
    """A short English line before the Chinese quotes that answer an English question: the
    law and article quoted, named in English ("Under Article 29 of the Patent Law:"), or that
    the documents' own words follow. It states nothing else: no figure but an article's
    number, which its heading holds."""
    cited: list[str] = []
    for span in spans:
        article = article_of(span.chunk)
        number = chinese_to_int(article[1:-1]) if article else None
        if number is None:
            continue
        title = normalize(span.chunk.title).removeprefix(_LAW_PREFIX)
        law = _law_names().get(title)
        where = f"Article {number} of the {law}" if law else f"Article {number} of the law cited"
        if where not in cited:
            cited.append(where)
    if cited:
        return f"Under {' and '.join(cited[:2])}:"
    return "The documents state:"


def answer_parts(
    question: str,
    readings: Sequence[tuple[Need, Assessment]],
    issuers: Mapping[str, str],
    scope: str = SCOPE_HEAD + "。",
) -> Answer:
    """One answer to a question in several parts: each part answered by its own sentence and
    citation, in the order asked, or said plainly not to be stated by the documents."""
    if all(a.verdict == "out_of_scope" for _, a in readings):
        reply = f"{SCOPE_EN}\n{scope}" if readings[0][0].english else scope
        return Answer(reply, (), abstained=True, intent="out_of_scope", question=question)
    answerable: list[bool] = []
    for need, a in readings:
        # "超出部分是不是减半" asks about what lies beyond the figure an earlier part asked:
        # when that figure is not stated, neither is what lies beyond it.
        beyond_unstated = bool(_BEYOND.search(need.question)) and not all(answerable)
        answerable.append(
            a.verdict == "answer"
            and a.supports[0].coverage >= PART_COVERAGE
            and not beyond_unstated
        )
    if not any(answerable):
        need, first = readings[0]
        reasons = [
            a.reason_zh
            or (PART_OUTSIDE if a.verdict == "out_of_scope" else "")
            or f"现有文件未载明{subject_phrase(n)}的相关规定"
            for n, a in readings
        ]
        merged = Assessment(
            "abstain",
            first.supports,
            "；".join(dict.fromkeys(reasons)) or first.reason_zh,
            "; ".join(dict.fromkeys(a.reason_en for _, a in readings if a.reason_en)),
        )
        return replace(abstain(need, merged, issuers, "several"), question=question)
    spans: list[Span] = []
    pieces: list[str] = []
    for (need, assessment), ok in zip(readings, answerable, strict=True):
        if assessment.verdict != "answer":
            pieces.append(f"{assessment.reason_zh or PART_OUTSIDE}。")
            continue
        if not ok:
            # A part read against the others' subject may match a stray word: said as unknown.
            pieces.append(f"现有文件未载明{subject_phrase(need)}的相关规定。")
            continue
        for span in choose(need, assessment.supports, most=1, limit=PART_SENTENCE):
            if any(_overlaps(span, o) for o in spans):
                continue  # one sentence answering two parts is quoted once
            spans.append(span)
            pieces.append(f"{statement(span)}[{len(spans)}]。")
    citations = tuple(cite(n, s) for n, s in enumerate(spans, 1))
    lead = f"{english_lead(spans)}\n" if readings[0][0].english and spans else ""
    return Answer(
        f"{lead}{''.join(pieces)}\n{NOTE}", citations, intent="several", question=question
    )


PART_OUTSIDE = "这一问不在收录文件的范围内"
_BEYOND = re.compile(
    r"超[出过]的?部分|超[出过]的|多出(?:来)?的部分|其余(?:的)?部分|剩[下余]的?部分"
)
PART_COVERAGE = 0.25  # share of a part's subject its answer must hold
PART_SENTENCE = 80  # each part is quoted by its clauses, so every part shows near the top
DIFFERENCE_COVERAGE = 0.3
_ASKS_DIFFERENCE = re.compile(r"还差|差多少|相差|差距|差几|多了多少|少了多少|增加了多少|多出")
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(亿元|万元|元|家|项|个|人次|人|次|场|%)")


def _amounts(span: Span) -> list[tuple[float, str, str]]:
    return [(float(m.group(1)), m.group(1), m.group(2)) for m in _AMOUNT.finditer(span.text)]


def difference(spans: list[Span], supports: Sequence[Support]) -> tuple[list[Span], str]:
    """ "还差多少": the difference of two cited figures of one unit, shown with its inputs.

    The first figure is the best sentence's; the second comes from the best other sentence on
    the same subject holding a different figure of the same unit. Without both, no figure is
    derived.
    """
    if not spans or not _amounts(spans[0]):
        return spans, ""
    value, text, unit = _amounts(spans[0])[0]
    for s in supports:
        # The other figure need not be what was asked (1164家 is no target); it must be on the
        # question's subject.
        if not s.context_ok or s.coverage < DIFFERENCE_COVERAGE:
            continue
        span = quote_span(s)
        other = [a for a in _amounts(span) if a[2] == unit and a[0] != value]
        if not other:
            continue
        if not any(_overlaps(span, p) for p in spans):
            spans = [spans[0], span, *spans[1:]][:_MAX_STATEMENTS]
        n_other = next(i for i, p in enumerate(spans, 1) if _overlaps(span, p))
        (big, big_text), (small, small_text) = sorted(
            [(value, text), (other[0][0], other[0][1])], reverse=True
        )
        shown = f"{big - small:.2f}".rstrip("0").rstrip(".")
        return spans, (
            f"按所引数字计算：{big_text}{unit} − {small_text}{unit} = {shown}{unit}"
            f"（据[1][{n_other}]）。"
        )
    return spans, ""


_ASKS_NUMBER = re.compile(r"文号|发文字号|文件编号|document number")
_ASKS_DATE = re.compile(
    r"哪天发|什么时候发|什么时候出|哪天出|发布(?:日期|时间)|印发(?:日期|时间)|成文日期|"
    r"发文(?:日期|时间)|哪一天发|when (?:was|were) .*(?:issued|published)"
)
_A_DOCUMENT = re.compile(
    r"文件|号文|发文|印发|政策|办法|通知|意见|措施|规定|方案|要点|总结|细则|条例|法|《|〔|"
    r"document|policy|law|"
    r"notice|measures|rules|plan"
)
_ASKS_ISSUER = re.compile(r"哪个(?:部门|单位|机关)发|谁发的|发文机关|发布机关|发布单位|who issued")


def asks_document_facts(question: str) -> bool:
    """True when a question asks for a document's number, date or issuer."""
    if _ASKS_NUMBER.search(question):
        return True
    # "职称评审结果什么时候出" asks about the asker's own affair, not when a document came out.
    asked = _ASKS_DATE.search(question) or _ASKS_ISSUER.search(question)
    return bool(asked) and bool(_A_DOCUMENT.search(question))


def document_facts(
    question: str, chunks: Sequence[Chunk], metadata: Mapping[str, str]
) -> Answer | None:
    """文号, date and issuer of a document, each quoted from where its own text states them."""
    facts = []
    if _ASKS_NUMBER.search(question) and chunks and chunks[0].doc_number:
        facts.append(("文号为", chunks[0].doc_number))
    if _ASKS_DATE.search(question) and metadata.get("date"):
        facts.append(("发布日期为", metadata["date"]))
    if _ASKS_ISSUER.search(question) and metadata.get("issuer"):
        facts.append(("发布机关为", metadata["issuer"]))
    citations: list[Citation] = []
    parts = []
    for label, value in facts:
        for chunk in chunks:
            at = chunk.text.find(value)
            if at >= 0:
                n = len(citations) + 1
                citations.append(
                    Citation(n, chunk, value, chunk.start + at, chunk.start + at + len(value))
                )
                parts.append(f"{label}{value}[{n}]")
                break
    if not citations:
        return None
    title = chunks[0].title
    return Answer(
        f"《{title}》{'，'.join(parts)}。\n{NOTE}",
        tuple(citations),
        intent="document",
        question=question,
    )


def related_spans(need: Need, supports: Sequence[Support], limit: int = 3) -> list[Span]:
    """The closest clauses on the question's subject, one per chunk.

    A clause sharing only a stray word with the question ("最高" in 国家最高科学技术奖) is not
    related: each must hold at least half the subject the closest one holds.
    """
    out: list[Span] = []
    # Clauses naming the question's rarest word found anywhere come alone, if there are any.
    weights = {t.word: t.weight for t in need.terms}
    found = {w for s in supports for w in s.terms}
    telling = max(sorted(found), key=lambda w: weights.get(w, 0.0), default=None)
    on_subject = [s for s in supports if telling in s.terms]
    ranked = sorted(on_subject or supports, key=lambda s: (-s.coverage, s.span.rank))
    floor = RELATED_SHARE * ranked[0].coverage if ranked else 0.0
    for s in ranked:
        if s.coverage <= 0 or s.coverage < floor:
            break
        if any(o.chunk.chunk_id == s.span.chunk.chunk_id for o in out):
            continue
        out.append(quote_span(s))
        if len(out) >= limit:
            break
    return out


def abstain(need: Need, assessment: Assessment, issuers: Mapping[str, str], intent: str) -> Answer:
    """Say plainly what the documents do not state, and what they do say on the subject."""
    related = related_spans(need, assessment.supports)
    parts = [f"{assessment.reason_zh}。"]
    if need.english and assessment.reason_en:
        # An English question is told in English first that the documents do not say.
        reason = assessment.reason_en
        parts.insert(0, f"{reason[0].upper()}{reason[1:]}.\n")
    if related:
        where = "、".join(dict.fromkeys(_where(s.chunk) for s in related))
        parts.append(f"文件中相关的内容见{where}（列在下方“相关条文”中，供参考）。")
    offices = [issuers[s.chunk.doc_id] for s in related if issuers.get(s.chunk.doc_id)]
    if offices:
        parts.append(f"具体请以发布机关（{offices[0]}）的解释为准，或向其咨询。")
    else:
        parts.append("具体请向相关主管部门咨询。")
    return Answer(
        "".join(parts),
        (),
        tuple(cite(n, s) for n, s in enumerate(related, 1)),
        abstained=True,
        intent=intent,
        question=need.question,
    )


def _where(chunk: Chunk) -> str:
    article = article_of(chunk)
    if article:
        return f"《{chunk.title}》{article}"
    return f"《{chunk.title}》"
