"""Structured logs: JSON lines with the request id; access lines without query strings."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from fastapi.testclient import TestClient

from core.logs import JsonFormatter


def test_access_log_has_request_id_and_no_query_string(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tongxing.access")
    response = client.get("/healthz?code=SECRET-CODE&token=abc", headers={"x-request-id": "r-1"})
    assert response.status_code == 200
    records = [r for r in caplog.records if r.name == "tongxing.access"]
    assert records, "one access line per request"
    line = JsonFormatter().format(records[-1])
    entry = json.loads(line)
    assert entry["path"] == "/healthz"
    assert entry["status"] == 200
    assert entry["method"] == "GET"
    assert "SECRET-CODE" not in line
    assert "\n" not in line


def test_formatter_includes_extra_fields_and_exceptions() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("t").makeRecord(
            "t", logging.ERROR, __file__, 1, "failed %s", ("x",), exc_info=sys.exc_info()
        )
    record.__dict__["seal_id"] = "s-1"
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "failed x"
    assert entry["seal_id"] == "s-1"
    assert "ValueError: boom" in entry["exception"]
