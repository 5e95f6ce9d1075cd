"""Logging without secrets (LOG-04): invite and reset tokens never reach a log line."""

import logging
import re

# /join/<token>, /reset/<token> and /calendar/<token>.ics carry bearer secrets in the path.
_TOKEN_PATH = re.compile(r"(/(?:join|reset|calendar)/)(?!accept\b)[A-Za-z0-9_\-]{16,}")


def redact(text: str) -> str:
    return _TOKEN_PATH.sub(r"\1[redacted]", text)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict):  # gunicorn's access log passes its atoms as a dict
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        record.msg = redact(str(record.msg))
        return True


def init_app(app) -> None:
    """Redact tokens from the request logs of the development server and gunicorn."""
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
