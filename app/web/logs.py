"""Keeping secrets out of every log: activation links carry their token in the path, API calls
carry a bearer token, and an error log (a message, its arguments, a traceback) can hold either."""

import logging
import re
import traceback
from collections.abc import Callable
from typing import Any

_SECRET_PATH = re.compile(r"^(/activate/)[^/?\s]+")
_SECRETS = [
    (re.compile(r"(/activate/)[^/?#\s'\"<>]+"), r"\1…"),
    (re.compile(r"(?i)(\bbearer\s+)[^\s'\",;]+"), r"\1…"),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretPaths(logging.Filter):
    """Replaces the token of /activate/<token> in uvicorn's access log lines with '…'."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], _SECRET_PATH.sub(r"\1…", args[2]), *args[3:])
        return True


def redact_record(record: logging.LogRecord) -> None:
    """Redact a record's message (with its arguments), traceback and stack in place."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed call is the handler's to report, not ours
        message = None
    if message is not None and redact(message) != message:
        # argument by argument first: some formatters (uvicorn's access log) read the arguments
        # (not the format string: "Bearer %s" would lose its placeholder)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
            message = record.getMessage()
        if redact(message) != message:
            record.msg, record.args = redact(message), None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        # formatted here, once, so that every handler prints the redacted traceback
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def _redacting_factory(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        redact_record(record)
        return record

    factory.redacts_secrets = True  # type: ignore[attr-defined]
    return factory


def redact_secrets_in_logs() -> None:
    """Every log record of this process, whoever logs it and whichever handler prints it, is
    redacted when it is made (a record factory): a filter on a logger would miss its children's
    records, and one on a handler would miss handlers added later."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "redacts_secrets", False):
        logging.setLogRecordFactory(_redacting_factory(current))
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactSecretPaths) for f in access.filters):
        access.addFilter(RedactSecretPaths())
