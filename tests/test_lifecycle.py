"""Documents in and out of force: standings, answers that prefer current documents and say
when they cite one that is not, and a new version replacing the old by its 文号.

Every policy text here is fictional and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient

from assistant.config import Settings
from assistant.ingest.lifecycle import standings
from assistant.serve.app import create_app
from assistant.serve.runtime import Services

from .test_api import make_settings
from .test_live_updates import STAFF, finished


@dataclass
class Doc:
    doc_id: str
    title: str
    doc_number: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


def test_standing_follows_status_dates_and_supersession() -> None:
    docs = {
        d.doc_id: d
        for d in (
            Doc("repealed", "旧办法", metadata={"status": "已废止"}),
            Doc("expired", "试行办法", metadata={"expiry_date": "2025-12-31"}),
            Doc("coming", "新条例", metadata={"effective_date": "2027-01-01"}),
            Doc("old", "2023版细则", "示科〔2023〕1号", {"date": "2023-01-05"}),
            Doc(
                "new",
                "2026版细则",
                "示科〔2026〕2号",
                {"date": "2026-02-01", "supersedes": "示科[2023]1号"},
            ),
            Doc("v1", "通知", "示科〔2024〕9号", {"date": "2024-01-01"}),
            Doc("v2", "通知（修订）", "示科〔2024〕9号", {"date": "2024-06-01"}),
            Doc("plain", "现行文件"),
        )
    }
    got = standings(docs, today=date(2026, 11, 29))
    assert {k: s.state for k, s in got.items()} == {
        "repealed": "repealed",
        "expired": "expired",
        "coming": "not_yet",
        "old": "superseded",
        "new": "current",
        "v1": "superseded",
        "v2": "current",
        "plain": "current",
    }
    assert got["old"].note == "已被《2026版细则》（示科〔2026〕2号）取代"
    assert got["expired"].note == "已于2025-12-31失效"


OLD = """---
title: 示例区算力券办法（虚构示例，仅供测试）
doc_number: 示科〔2098〕3号
date: 2098-01-01
---
示例区算力券办法
一、额度
（一）每家企业每年申领算力券最高20万元。
二、用途
（一）算力券可用于购买检验检测服务（虚构）。
"""
NEW = """---
title: 示例区算力券办法（2099年修订，虚构示例，仅供测试）
doc_number: 示科〔2099〕3号
date: 2099-01-01
supersedes: 示科〔2098〕3号
---
示例区算力券办法（2099年修订）
一、额度
（一）每家企业每年申领算力券最高50万元。
"""


def test_answers_prefer_the_current_version_and_note_a_superseded_one(settings: Settings) -> None:
    (settings.corpus_dir / "voucher-2098.md").write_text(OLD, encoding="utf-8")
    (settings.corpus_dir / "voucher-2099.md").write_text(NEW, encoding="utf-8")
    services = Services(settings)
    services.store.ingest()
    amount = services.assistant.ask("算力券每家企业每年最高多少？")
    assert "50万元" in amount.answer and "20万元" not in amount.answer
    assert amount.citations[0].chunk.doc_id == "voucher-2099"
    assert not any("取代" in n for n in amount.notes)
    use = services.assistant.ask("算力券可以用来买什么服务？")  # only the old version says
    assert use.citations and use.citations[0].chunk.doc_id == "voucher-2098"
    assert any("已被《示例区算力券办法（2099年修订" in n for n in use.notes), use.notes


def test_uploading_a_file_with_the_same_doc_number_replaces_the_old_one(settings: Settings) -> None:
    Services(settings).store.ingest()
    with TestClient(create_app(make_settings(settings.corpus_dir, settings.index_dir))) as api:
        first = api.post(
            "/v1/admin/documents",
            headers=STAFF,
            files=[("files", ("voucher-v1.md", OLD.encode(), "text/markdown"))],
        )
        assert finished(api, first.json())["state"] == "done"
        renumbered = NEW.replace("示科〔2099〕3号", "示科〔2098〕3号").replace(
            "date: 2099-01-01", "date: 2098-06-01"
        )
        second = api.post(
            "/v1/admin/documents",
            headers=STAFF,
            files=[("files", ("voucher-v2.md", renumbered.encode(), "text/markdown"))],
        )
        job = finished(api, second.json())
        assert job["state"] == "done", job
        assert any(
            f["file"] == "voucher-v1.md" and "替换" in f["zh"] for f in job["result"]["files"]
        )
        listed = {
            d["doc_id"] for d in api.get("/v1/admin/documents", headers=STAFF).json()["documents"]
        }
        assert "uploads/voucher-v2" in listed and "uploads/voucher-v1" not in listed
        assert not (Path(settings.corpus_dir) / "uploads" / "voucher-v1.md").exists()


# FICTIONAL: two versions of one measure that share a title; the new one's sidecar names the
# old one's 文号 under `supersedes`, and the old one also says it was repealed.
INCUBATOR_TITLE = "示例区科技企业孵化器管理办法（虚构示例，仅供测试）"
INCUBATOR_OLD = f"""---
title: {INCUBATOR_TITLE}
doc_number: 示科发〔2097〕7号
date: 2097-04-20
status: 已废止
---
{INCUBATOR_TITLE}
第一章 支持措施
第一条 对新认定的区级孵化器，给予一次性奖励20万元。
第二条 对孵化器按照年度考核结果给予运营补贴，考核优秀的每年补贴15万元，考核良好的每年补贴8万元。
"""
INCUBATOR_NEW = f"""{INCUBATOR_TITLE}
示科发〔2099〕3号
第一章 支持措施
第一条 对新认定的区级孵化器，给予一次性奖励30万元。
第二条 对孵化器按照年度考核结果给予运营补贴，考核优秀的每年补贴20万元，考核良好的每年补贴10万元，考核不合格的不予补贴。
"""
INCUBATOR_SIDECAR = f"""title: {INCUBATOR_TITLE}
doc_number: 示科发〔2099〕3号
date: 2099-02-10
supersedes: 示科发〔2097〕7号
"""
OLD_SENTENCE = (
    "对孵化器按照年度考核结果给予运营补贴，考核优秀的每年补贴15万元，考核良好的每年补贴8万元。"
)


def test_a_superseded_document_is_found_by_its_own_sentence_and_noted(settings: Settings) -> None:
    corpus = Path(settings.corpus_dir)
    (corpus / "incubator-2097.txt").write_text(INCUBATOR_OLD, encoding="utf-8")
    (corpus / "incubator-2099.txt").write_text(INCUBATOR_NEW, encoding="utf-8")
    (corpus / "incubator-2099.txt.meta.yaml").write_text(INCUBATOR_SIDECAR, encoding="utf-8")
    services = Services(settings)
    services.store.ingest()
    standing = standings(services.store.open().manifest.documents)
    assert standing["incubator-2097"].note == f"已被《{INCUBATOR_TITLE}》（示科发〔2099〕3号）取代"
    assert standing["incubator-2099"].current

    hits = services.retriever.search(OLD_SENTENCE, k=5)
    # Its own words find the old clause first; the clause in force that replaced it follows.
    assert [h.chunk.doc_id for h in hits[:2]] == ["incubator-2097", "incubator-2099"]
    assert OLD_SENTENCE in hits[0].chunk.text

    answer = services.assistant.ask(OLD_SENTENCE)
    assert any(c.chunk.doc_id == "incubator-2097" for c in answer.citations)
    assert any("已被《" in n and "（示科发〔2099〕3号）取代" in n for n in answer.notes), (
        answer.notes
    )

    # A question in other words gets the version in force, with no note.
    current = services.assistant.ask("区级孵化器新认定后能拿多少一次性奖励？")
    assert current.citations[0].chunk.doc_id == "incubator-2099"
    assert not any("取代" in n for n in current.notes)
