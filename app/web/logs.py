"""Keeping secrets out of the access log: activation links carry their token in the path."""

import logging
import re

_SECRET_PATH = re.compile(r"^(/activate/)[^/?\s]+")


class RedactSecretPaths(logging.Filter):
    """Replaces the token of /activate/<token> in uvicorn's access log lines with '…'."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], _SECRET_PATH.sub(r"\1…", args[2]), *args[3:])
        return True


def redact_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactSecretPaths) for f in access.filters):
        access.addFilter(RedactSecretPaths())
