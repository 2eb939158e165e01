"""Reading an uploaded PDF: in memory without a copy, on disk by reading, never past the limit."""

from __future__ import annotations

import tempfile

import pytest
from fastapi import UploadFile

from seal.api.sign import read_pdf_upload
from seal.errors import PdfTooLarge


def _upload(data: bytes, *, spool_limit: int) -> UploadFile:
    spooled = tempfile.SpooledTemporaryFile(max_size=spool_limit)  # noqa: SIM115 (closed by UploadFile)
    for start in range(0, len(data), 1000):  # written in parts, as Starlette's parser does
        spooled.write(data[start : start + 1000])
    spooled.seek(0)
    return UploadFile(spooled)


@pytest.mark.parametrize("spool_limit", [1 << 20, 100], ids=["in-memory", "on-disk"])
def test_the_upload_is_read_whole_and_refused_over_the_limit(spool_limit: int) -> None:
    data = bytes(range(256)) * 40  # 10,240 bytes
    assert read_pdf_upload(_upload(data, spool_limit=spool_limit), limit=len(data)) == data
    with pytest.raises(PdfTooLarge):
        read_pdf_upload(_upload(data, spool_limit=spool_limit), limit=len(data) - 1)


def test_an_upload_kept_in_memory_is_not_copied() -> None:
    upload = _upload(b"%PDF-" + bytes(5000), spool_limit=1 << 20)
    first = read_pdf_upload(upload, limit=1 << 20)
    assert read_pdf_upload(upload, limit=1 << 20) is first  # the buffer's own bytes object
