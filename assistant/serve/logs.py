"""Logging for the entry points: one format, and personal data kept out of every line.

Our own code logs no text a user typed (only its length and a fingerprint). The frameworks
under it may still put a question into a log line: a validation error quoting a body, a
traceback whose exception message holds the input. So every handler the process logs through
carries `RedactingFilter`, which applies the records' redaction (phone, ID-card, bank-card and
passport numbers, e-mail and street addresses) to the message and any traceback.

    configure(logging.INFO)     # the command line: our handler, redacted
    protect()                   # a server started by bare uvicorn: redact the handlers it made
"""

from __future__ import annotations

import logging
import sys

from assistant.text.redaction import redact

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
NOISY = ("chromadb", "httpx", "httpcore", "jieba", "urllib3", "gradio", "multipart")
# The loggers that frameworks give handlers of their own (and may not propagate to the root).
FRAMEWORK_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "gradio", "fastapi")


class RedactingFilter(logging.Filter):
    """Rewrites each record with personal data removed from its message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def configure(level: int) -> None:
    """Log to stderr at `level` in one format, redacted; the chatty libraries at WARNING."""
    logging.basicConfig(level=level, stream=sys.stderr, format=FORMAT)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    protect()


def protect() -> None:
    """Put the redacting filter on every handler of the root and the frameworks' loggers."""
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in FRAMEWORK_LOGGERS)]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
