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
    ├── IndexNotBuiltError          search asked before any ingest (HTTP 503)
    │   └── StoreUnavailableError   the Chroma server cannot be reached, or lacks the index's
    │                               collection: nothing to serve until it is back
    ├── IngestError                 an ingest could not complete; the served index is untouched
    ├── EmbeddingError              the embedding model cannot be loaded or used
    ├── LLMError                    the chat model failed, timed out or replied with nothing
    ├── ProfileError                an enterprise profile has an unknown field or a bad value
    ├── RuleError                   an eligibility rule is malformed or cites text not in the corpus
    ├── LibraryError                staff asked to add or remove a document in a way that cannot be done
    └── RecordError                 an exchange or feedback record could not be written or read
        └── UnknownMessageError     feedback names a message_id that was never recorded

Edges (CLI, HTTP) turn these into user messages; nothing else reaches a user as a traceback.
Messages carry both Chinese and English because both kinds of reader meet them.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: an error whose message tells the user what to do."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en


class ConfigError(AssistantError):
    """A setting is missing or invalid."""


class DocumentError(AssistantError):
    """One document could not be loaded; other documents are unaffected."""

    def __init__(self, path: str, zh: str, en: str) -> None:
        super().__init__(f"{path}：{zh}", f"{path}: {en}")
        self.path = path


class UnsupportedFormatError(DocumentError):
    """No loader handles this file type."""


class FileTooLargeError(DocumentError):
    """The file is larger than the configured limit."""


class LoadLimitError(FileTooLargeError):
    """Loading the file would pass a limit: its pages, unpacked size, nesting, time or memory."""


class CorruptFileError(DocumentError):
    """The file is not what its name says, or is damaged: it cannot be parsed."""


class EncryptedFileError(DocumentError):
    """The file is protected by a password that the assistant does not have."""


class EmptyDocumentError(DocumentError):
    """The file holds no text after decoding."""


class NoTextLayerError(EmptyDocumentError):
    """A PDF whose pages carry no text that can be read (a scanned image, or fonts without
    a character mapping): it needs OCR or a text version."""


class IndexNotBuiltError(AssistantError):
    """Nothing has been ingested yet."""

    def __init__(self, index_dir: str) -> None:
        super().__init__(
            f"索引尚未建立（{index_dir}）。请先运行 `policy-assistant ingest`。",
            f"No index at {index_dir!r} yet. Run `policy-assistant ingest` first.",
        )


class StoreUnavailableError(IndexNotBuiltError):
    """The vector store cannot serve the index: its server is unreachable, or the collection
    of the version being served is not in it. Like a missing index, it passes once fixed:
    a server answers 503 meanwhile rather than failing to start."""

    def __init__(self, zh: str, en: str) -> None:
        AssistantError.__init__(self, zh, en)


class IngestError(AssistantError):
    """An ingest failed as a whole; the previously served index is unchanged."""


class EmbeddingError(AssistantError):
    """The embedding model could not be loaded or failed on input."""


class LLMError(AssistantError):
    """The chat model could not be reached, timed out, failed or gave an empty reply."""


class ProfileError(AssistantError):
    """An enterprise profile names an unknown field or gives a value outside its vocabulary."""


class RuleError(AssistantError):
    """An eligibility rule is malformed, or quotes text the corpus does not hold."""

    def __init__(self, rule: str, zh: str, en: str) -> None:
        super().__init__(f"规则 {rule}：{zh}", f"rule {rule}: {en}")
        self.rule = rule


class LibraryError(AssistantError):
    """Staff asked to change the documents in a way that cannot be done; nothing changed."""


class RecordError(AssistantError):
    """An exchange or feedback record could not be written or read."""


class UnknownMessageError(RecordError):
    """Feedback was given on a message_id the records do not hold."""

    def __init__(self, message_id: str) -> None:
        super().__init__(
            f"找不到编号为 {message_id!r} 的回答，反馈未记录。",
            f"No answer with message_id {message_id!r}; the feedback was not recorded.",
        )
        self.message_id = message_id
