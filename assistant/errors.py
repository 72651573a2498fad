"""The exceptions policy-assistant raises, each with a message a user can act on.

    AssistantError                  base: anything the user or operator can fix
    ├── ConfigError                 a setting is missing or has a bad value
    ├── DocumentError               one file cannot be loaded (names the file and why)
    │   ├── UnsupportedFormatError  no loader for this kind of file
    │   ├── FileTooLargeError       the file is over ASSISTANT_MAX_FILE_MB
    │   │   └── LoadLimitError      loading it would pass a limit (pages, unpacked size,
    │   │                           nesting, time, memory: ASSISTANT_LOAD_*, _PDF_MAX_PAGES…)
    │   ├── CorruptFileError        not a valid file of its type (damaged, truncated, misnamed)
    │   ├── EncryptedFileError      the file needs a password to open
    │   └── EmptyDocumentError      the file holds no text
    │       └── NoTextLayerError    a PDF without readable text (a scan, or undecodable fonts)
    ├── UnavailableError            nothing to serve now; it passes once fixed (HTTP 503)
    │   ├── IndexNotBuiltError      search asked before any ingest
    │   └── StoreUnavailableError   the Chroma server cannot be reached, or lacks the index's
    │                               collection
    ├── IngestError                 an ingest could not complete; the served index is untouched
    ├── EmbeddingError              the embedding model cannot be loaded or used
    ├── LLMError                    the chat model failed, timed out or replied with nothing
    ├── ProfileError                an enterprise profile has an unknown field or a bad value
    ├── RuleError                   an eligibility rule is malformed or cites text not in the corpus
    ├── LibraryError                staff asked to add or remove a document in a way that cannot be done
    │   ├── UploadError             an upload's files are too many, too few, or badly named
    │   └── NotRemovableError       the document is not one staff uploaded, or not indexed at all
    ├── RecordError                 an exchange or feedback record could not be written or read
    │   └── UnknownMessageError     feedback names a message_id that was never recorded
    └── CheckError                  a saved check cannot be kept as sent (empty, too long, too many)
        └── UnknownCheckError       no saved check has this id

Each class has a `code`: a stable name for the kind of error, which clients of the HTTP API
and of `--json` output may test (class names may change; codes do not). Edges (CLI, HTTP)
turn these into user messages; nothing else reaches a user as a traceback. Messages carry
both Chinese and English because both kinds of reader meet them.
"""

from __future__ import annotations

from typing import ClassVar


class AssistantError(Exception):
    """Base class: an error whose message tells the user what to do."""

    code: ClassVar[str] = "error"

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en


class ConfigError(AssistantError):
    """A setting is missing or invalid."""

    code: ClassVar[str] = "config_error"


class DocumentError(AssistantError):
    """One document could not be loaded; other documents are unaffected."""

    code: ClassVar[str] = "document_error"

    def __init__(self, path: str, zh: str, en: str) -> None:
        super().__init__(f"{path}：{zh}", f"{path}: {en}")
        self.path = path


class UnsupportedFormatError(DocumentError):
    """No loader handles this file type."""

    code: ClassVar[str] = "unsupported_format"


class FileTooLargeError(DocumentError):
    """The file is larger than the configured limit."""

    code: ClassVar[str] = "file_too_large"


class LoadLimitError(FileTooLargeError):
    """Loading the file would pass a limit: its pages, unpacked size, nesting, time or memory."""

    code: ClassVar[str] = "load_limit"


class CorruptFileError(DocumentError):
    """The file is not what its name says, or is damaged: it cannot be parsed."""

    code: ClassVar[str] = "corrupt_file"


class EncryptedFileError(DocumentError):
    """The file is protected by a password that the assistant does not have."""

    code: ClassVar[str] = "encrypted_file"


class EmptyDocumentError(DocumentError):
    """The file holds no text after decoding."""

    code: ClassVar[str] = "empty_document"


class NoTextLayerError(EmptyDocumentError):
    """A PDF whose pages carry no text that can be read (a scanned image, or fonts without
    a character mapping): it needs OCR or a text version."""

    code: ClassVar[str] = "no_text_layer"


class UnavailableError(AssistantError):
    """Nothing can be served now, through no fault of the request: it passes once the index
    is built or the store is back, so a server answers 503 meanwhile rather than failing."""

    code: ClassVar[str] = "unavailable"


class IndexNotBuiltError(UnavailableError):
    """Nothing has been ingested yet."""

    code: ClassVar[str] = "index_not_built"

    def __init__(self, index_dir: str) -> None:
        super().__init__(
            f"索引尚未建立（{index_dir}）。请先运行 `policy-assistant ingest`。",
            f"No index at {index_dir!r} yet. Run `policy-assistant ingest` first.",
        )


class StoreUnavailableError(UnavailableError):
    """The vector store cannot serve the index: its server is unreachable, or the collection
    of the version being served is not in it."""

    code: ClassVar[str] = "store_unavailable"


class IngestError(AssistantError):
    """An ingest failed as a whole; the previously served index is unchanged."""

    code: ClassVar[str] = "ingest_error"


class EmbeddingError(AssistantError):
    """The embedding model could not be loaded or failed on input."""

    code: ClassVar[str] = "embedding_error"


class LLMError(AssistantError):
    """The chat model could not be reached, timed out, failed or gave an empty reply."""

    code: ClassVar[str] = "llm_error"


class ProfileError(AssistantError):
    """An enterprise profile names an unknown field or gives a value outside its vocabulary."""

    code: ClassVar[str] = "profile_error"


class RuleError(AssistantError):
    """An eligibility rule is malformed, or quotes text the corpus does not hold."""

    code: ClassVar[str] = "rule_error"

    def __init__(self, rule: str, zh: str, en: str) -> None:
        super().__init__(f"规则 {rule}：{zh}", f"rule {rule}: {en}")
        self.rule = rule


class LibraryError(AssistantError):
    """Staff asked to change the documents in a way that cannot be done; nothing changed."""

    code: ClassVar[str] = "library_error"


class UploadError(LibraryError):
    """An upload cannot be taken as sent: too many or no files, or a name that cannot be kept."""

    code: ClassVar[str] = "bad_upload"


class NotRemovableError(LibraryError):
    """The document asked to be removed is not one staff uploaded (`indexed`), or not in the
    index at all."""

    code: ClassVar[str] = "not_removable"

    def __init__(self, doc_id: str, title: str | None) -> None:
        if title is None:
            super().__init__(
                f"没有可移除的上传文档 {doc_id}。", f"No uploaded document {doc_id!r}."
            )
        else:
            super().__init__(
                f"《{title}》不是工作人员上传的文件，不能在此移除。",
                f"{doc_id!r} was not uploaded by staff; it cannot be removed here.",
            )
        self.doc_id = doc_id
        self.indexed = title is not None


class RecordError(AssistantError):
    """An exchange or feedback record could not be written or read."""

    code: ClassVar[str] = "record_error"


class UnknownMessageError(RecordError):
    """Feedback was given on a message_id the records do not hold."""

    code: ClassVar[str] = "unknown_message"

    def __init__(self, message_id: str) -> None:
        super().__init__(
            f"找不到编号为 {message_id!r} 的回答，反馈未记录。",
            f"No answer with message_id {message_id!r}; the feedback was not recorded.",
        )
        self.message_id = message_id


class CheckError(AssistantError):
    """A saved check (a question and the words its answer must hold) cannot be kept as sent:
    the question is empty or too long, too many or too long words, or the list is full."""

    code: ClassVar[str] = "check_error"


class UnknownCheckError(CheckError):
    """A saved check was named by an id that no saved check has (perhaps deleted)."""

    code: ClassVar[str] = "unknown_check"

    def __init__(self, check_id: int) -> None:
        super().__init__(f"没有编号为 {check_id} 的测试问题。", f"No saved check {check_id}.")
        self.check_id = check_id
