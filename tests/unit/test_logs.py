import logging

from app.web.logs import RedactSecretPaths


def access_record(path: str) -> logging.LogRecord:
    args = ("127.0.0.1:5000", "GET", path, "1.1", 200)
    return logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d', args, None)


def test_activation_tokens_are_removed_from_access_log_lines():
    record = access_record("/activate/s3cr3t-token?x=1")
    assert RedactSecretPaths().filter(record)
    assert "s3cr3t" not in record.getMessage()
    assert '"GET /activate/…?x=1 HTTP/1.1" 200' in record.getMessage()


def test_other_paths_are_logged_as_they_are():
    record = access_record("/queue?actionType=create_user")
    assert RedactSecretPaths().filter(record)
    assert '"GET /queue?actionType=create_user HTTP/1.1" 200' in record.getMessage()


def test_every_record_made_after_installing_is_redacted_and_access_lines_keep_their_arguments():
    from app.web.logs import redact_secrets_in_logs

    redact_secrets_in_logs()
    record = logging.getLogger("uvicorn.access").makeRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/activate/s3cr3t?x=1", "1.1", 500),
        None,
    )
    assert record.args == ("127.0.0.1:5000", "GET", "/activate/…?x=1", "1.1", 500)
    record = logging.LogRecord("x", logging.ERROR, "", 0, "got %r", (object(),), None)
    assert record.getMessage().startswith("got <object")
