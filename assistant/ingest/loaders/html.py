"""Web pages saved from a government site: the article, and its info table as metadata.

Only the article is kept, without navigation, header, footer, scripts or share bars. The page's
info table (索引号, 发文机关, 发文字号, 成文日期, 发布日期) gives the metadata and stays at the top
of the text, so those facts can be quoted.

Before the page is parsed into a tree, how deeply and how many elements it nests is checked
against `LoadLimits` (the article finder's cost grows with depth times size). BeautifulSoup and
lxml are imported when a page is loaded, not with the package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import LoadLimitError
from assistant.ingest.decoding import decode
from assistant.ingest.loaders.common import LoadedText, LoadLimits, table_row, wide
from assistant.ingest.metadata import normalize_date

_INFO_LABELS = {
    "索引号": "index_number",
    "发文机关": "issuer",
    "发布机构": "issuer",
    "发布机关": "issuer",
    "发文单位": "issuer",
    "发布单位": "issuer",
    "发文字号": "doc_number",
    "文号": "doc_number",
    "成文日期": "date",
    "发文日期": "date",
    "发布日期": "publish_date",
    "发布时间": "publish_date",
    "标题": "title",
    "名称": "title",
    "文件名称": "title",
    "公开方式": "disclosure",
    "公开属性": "disclosure",
    "有效性": "status",
    "效力状态": "status",
    "时效性": "status",
    "生效日期": "effective_date",
    "施行日期": "effective_date",
    "实施日期": "effective_date",
}
_DATE_KEYS = {"date", "publish_date", "effective_date"}
_LABELLED = re.compile(r"^([^：:]{1,10})[：:]\s*(.*)$", re.S)
# Containers that government content systems (UCAP, TRS, …) put the article in.
_CONTENT_SELECTORS = (
    "#UCAP-CONTENT",
    ".pages_content",
    ".TRS_Editor",
    "#zoom",
    ".article-content",
    ".article_content",
    "#content",
    ".content",
    "article",
    "main",
    "[role=main]",
)
_NOISE_TAGS = (
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "form",
    "button",
    "input",
    "select",
    "textarea",
    "nav",
    "header",
    "footer",
    "aside",
    "svg",
    "object",
    "embed",
    "link",
    "meta",
)
_NOISE_NAMES = re.compile(
    r"nav|menu|breadcrumb|crumb|footer|header|share|bdshare|toolbar|"
    r"sidebar|topbar|print|font-?size|copyright|qrcode|erweima|related|"
    r"weizhi|location",
    re.I,
)
_NOISE_MAX = 500  # a share bar or a breadcrumb is short; a long block named so is kept
_CHROME_LINE = re.compile(
    r"^(?:【?\s*字[体號号]\s*[：:].*|打印本页|打印|关闭窗口|关闭|分享到[：:]?.*|"
    r"扫一扫.*|返回顶部|收藏|[【\[]?\s*[大中小]\s*[】\]]?)$"
)
_BLOCKS = {
    "p",
    "div",
    "section",
    "article",
    "main",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "table",
    "tbody",
    "thead",
    "tfoot",
    "tr",
    "td",
    "th",
    "blockquote",
    "pre",
    "center",
    "hr",
    "figure",
    "figcaption",
    "address",
    "caption",
}
_LINE_BREAK = re.compile(r"[ \t\r\f\xa0]*\n[ \t\r\n\f\xa0]*")
_SPACES = re.compile(r"[ \t\r\n\f\xa0]+")
_SPACES_ALL = re.compile(r"[\s\u3000]+")
_SAVED_FROM = re.compile(r"<!--\s*saved from url=\(\d+\)(\S+?)\s*-->", re.I)


def _squash(text: str) -> str:
    """Source whitespace as a browser shows it, except that a line break in the source
    between Chinese characters is no space at all."""

    def line_break(m: re.Match[str]) -> str:
        before = text[m.start() - 1] if m.start() else ""
        after = text[m.end()] if m.end() < len(text) else ""
        return "" if (before and wide(before)) or (after and wide(after)) else " "

    return _SPACES.sub(" ", _LINE_BREAK.sub(line_break, text))


def _is_data_table(table: Any) -> bool:
    """A table of data, not one that lays out the page: no nested table, no long cells."""
    cells = table.find_all(["td", "th"])
    return (
        bool(cells)
        and table.find("table") is None
        and all(len(c.get_text(strip=True)) <= 300 for c in cells)
    )


def html_lines(element: Any) -> list[str]:
    """The text of an element as lines: one per block (paragraph, heading, table row…)."""
    from bs4.element import NavigableString, PreformattedString, Tag

    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        text = _squash("".join(current)).strip(" \u3000")
        if text:
            lines.append(text)
        current.clear()

    def walk(node: Any) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, PreformattedString):  # comments, doctypes
                    current.append(str(child))
            elif isinstance(child, Tag):
                if child.name == "br":
                    flush()
                elif child.name == "table" and _is_data_table(child):
                    flush()
                    for tr in child.find_all("tr"):
                        cells = tr.find_all(["td", "th"], recursive=False)
                        row = table_row(["\n".join(html_lines(c)) for c in cells])
                        if row:
                            lines.append(row)
                elif child.name in _BLOCKS:
                    flush()
                    walk(child)
                    flush()
                else:
                    walk(child)

    walk(element)
    flush()
    return lines


@dataclass
class _Info:
    """What a page's info table says: (key, label as shown, value), in page order."""

    pairs: list[tuple[str, str, str]] = field(default_factory=list)
    elements: list[Any] = field(default_factory=list)  # to take out of the article


def _label_key(text: str) -> str | None:
    return _INFO_LABELS.get(re.sub(r"[\s\u3000:：]", "", text))


def _pairs(cells: list[str]) -> list[tuple[str, str, str]]:
    """(key, label, value) in a table row: "索引号：" then its value, or "索引号：值" in one cell."""
    found = []
    i = 0
    while i < len(cells):
        m = _LABELLED.match(cells[i])
        label, value = (m.group(1), m.group(2).strip()) if m else (cells[i], "")
        key = _label_key(label)
        if key and value:
            found.append((key, label, value))
        elif key and i + 1 < len(cells) and not _label_key(cells[i + 1].rstrip(":：")):
            found.append((key, label, cells[i + 1]))
            i += 1
        i += 1
    return found


def _holding_no_block(soup: Any, names: tuple[str, ...]) -> list[Any]:
    """The elements of these names with no block element inside them, in page order.

    Found in one pass from the innermost elements outwards; asking each element for a block
    inside it would search its whole subtree, which on a deeply nested page is quadratic.
    """
    elements = soup.find_all(True)
    holding: set[int] = set()
    for element in reversed(elements):  # an element's descendants come after it
        if (element.name in _BLOCKS or id(element) in holding) and element.parent is not None:
            holding.add(id(element.parent))
    return [el for el in elements if el.name in names and id(el) not in holding]


def info_table(soup: Any) -> _Info:
    """The page's info table: the table (or list) with the most known labels, if it has two."""
    best = _Info()
    for table in soup.find_all("table"):
        info = _Info(elements=[table])
        for tr in table.find_all("tr"):
            cells = tr.find_all(["td", "th"], recursive=False)
            texts = [_squash(c.get_text(" ")).strip(" \u3000") for c in cells]
            info.pairs += _pairs(texts)
        if len(info.pairs) > len(best.pairs):
            best = info
    if len(best.pairs) < 2:
        # Some sites list the same facts as items ("<li><span>索引号：</span>QA…</li>"):
        # each is one block holding both label and value.
        items = _Info()
        for el in _holding_no_block(soup, ("li", "p", "dt", "dd", "div", "span")):
            m = _LABELLED.match(_squash(el.get_text(" ")).strip(" \u3000"))
            key = _label_key(m.group(1)) if m else None
            if m and key and m.group(2).strip():
                items.pairs.append((key, m.group(1), m.group(2).strip()))
                items.elements.append(el)
        if len(items.pairs) > len(best.pairs):
            best = items
    if len(best.pairs) < 2:
        return _Info()
    first: dict[str, tuple[str, str, str]] = {}
    for pair in best.pairs:
        first.setdefault(pair[0], pair)  # a label given twice: the first one stands
    best.pairs = list(first.values())
    return best


def _meta(soup: Any, *names: str) -> str:
    for name in names:
        tag = soup.find("meta", attrs={"name": name}) or soup.find("meta", attrs={"property": name})
        if tag and tag.get("content", "").strip():
            return str(tag["content"]).strip()
    return ""


def _page_title(soup: Any) -> str:
    title = _meta(soup, "ArticleTitle", "og:title")
    if title:
        return title
    for h1 in soup.find_all("h1"):
        if h1.find_parent(["header", "nav", "footer"]) is None and h1.get_text(strip=True):
            return _squash(h1.get_text(" ")).strip()
    if soup.title and soup.title.get_text(strip=True):
        # "标题_国务院文件_中国政府网": the site's name follows the page's.
        return re.split(r"\s*[_|｜]\s*|\s+-\s+", soup.title.get_text(strip=True))[0]
    return ""


def _noisy(element: Any) -> bool:
    names = " ".join([str(element.get("id") or ""), *(element.get("class") or [])])
    return (
        bool(names.strip())
        and bool(_NOISE_NAMES.search(names))
        and len(element.get_text(strip=True)) <= _NOISE_MAX
    )


def _remove_noise(root: Any) -> None:
    for tag in root.find_all(_NOISE_TAGS):
        tag.decompose()
    # Elements come in document order, so an element's ancestors are judged before it; one
    # inside an element already taken goes with it. (bs4's `decomposed` looks for a child tag
    # of that name when the flag is unset: asking it of every element is quadratic.)
    taken: list[Any] = []
    inside: set[int] = set()
    for element in root.find_all(True):
        if id(element.parent) in inside:
            inside.add(id(element))
        elif _noisy(element):
            taken.append(element)
            inside.add(id(element))
    for element in taken:
        element.decompose()


def _article(soup: Any) -> Any:
    """The element that holds the article: a known content container, else the densest."""
    for selector in _CONTENT_SELECTORS:
        found = soup.select_one(selector)
        if found is not None and len(found.get_text(strip=True)) >= 50:
            _remove_noise(found)
            return found
    _remove_noise(soup)
    best, best_score = soup.body or soup, 0
    for element in soup.find_all(["div", "td", "section", "article", "main"]):
        score = sum(len(p.get_text(strip=True)) for p in element.find_all("p", recursive=False))
        score += sum(len(s.strip()) for s in element.find_all(string=True, recursive=False))
        if score > best_score:
            best, best_score = element, score
    return best


_SCAN_STEP = 1 << 16


def check_html_shape(name: str, markup: str, limits: LoadLimits) -> None:
    """Refuse a page that nests deeper, or holds more elements, than the limits.

    lxml's event parser counts in one linear pass, in C, with the same HTML rules as the
    parser that builds the page afterwards; elements are cleared as they close, so the count
    costs little memory.
    """
    from lxml import etree

    # huge_tree lifts libxml2's own depth cap (256), which would stop the count at the cap.
    parser = etree.HTMLPullParser(events=("start", "end"), huge_tree=True, encoding="utf-8")
    raw = markup.encode("utf-8", errors="replace")
    depth = deepest = count = 0
    for at in range(0, len(raw) + _SCAN_STEP, _SCAN_STEP):
        stopped = False
        try:
            if at < len(raw):
                parser.feed(raw[at : at + _SCAN_STEP])
            else:
                parser.close()
        except etree.LxmlError:
            # libxml2 gave up (even its raised depth cap is finite): the events up to there
            # are judged; what cannot be parsed at all is for the page parser to report.
            stopped = True
        for event, element in parser.read_events():
            if event == "start":
                depth += 1
                count += 1
                deepest = max(deepest, depth)
            else:
                depth -= 1
                element.clear()
        if deepest > limits.html_depth:
            raise LoadLimitError(
                name,
                f"网页元素嵌套过深（超过 {limits.html_depth} 层），可能是恶意构造的页面；"
                "请另存为纯文本或从原网站重新保存",
                f"the page nests its elements too deeply (over {limits.html_depth} levels): it "
                "may be crafted; save it as text or save it again from its site",
            )
        if count > limits.html_elements:
            raise LoadLimitError(
                name,
                f"网页元素过多（超过 {limits.html_elements} 个）；请只保存正文部分或另存为纯文本",
                f"the page holds too many elements (over {limits.html_elements}); save only "
                "the article or save it as text",
            )
        if stopped:
            return


def load(path: Path, data: bytes, limits: LoadLimits) -> LoadedText:
    """A web page saved from a government site: its article, and its info table as metadata."""
    from bs4 import BeautifulSoup

    markup = decode(data, str(path))
    check_html_shape(str(path), markup, limits)
    soup = BeautifulSoup(markup, "lxml")
    for tag in soup.find_all(["script", "style", "noscript", "template"]):
        tag.decompose()
    info = info_table(soup)
    meta: dict[str, str] = {}
    for key, _, value in info.pairs:
        meta.setdefault(key, normalize_date(value) if key in _DATE_KEYS else value)
    if "date" not in meta and "publish_date" in meta:
        meta["date"] = meta["publish_date"]  # no 成文日期 given: the page's date is its own
    title = meta.get("title") or _page_title(soup)
    if title:
        meta["title"] = title
    source = _meta(soup, "og:url", "url") or next(
        (
            str(link.get("href"))
            for link in soup.find_all("link", rel="canonical")
            if link.get("href")
        ),
        "",
    )
    saved = _SAVED_FROM.search(markup[:2000])
    if source or saved:
        meta["source_url"] = source or (saved.group(1) if saved else "")
    for element in info.elements:
        element.decompose()
    lines = [line for line in html_lines(_article(soup)) if not _CHROME_LINE.match(line)]
    if lines and lines[0] == title:
        lines = lines[1:]
    head = [title] if title else []
    head += [
        f"{_SPACES_ALL.sub('', label)}：{value}"
        for key, label, value in info.pairs
        if key != "title"
    ]
    return LoadedText("\n".join(head + lines) + "\n" if lines else "", meta)
