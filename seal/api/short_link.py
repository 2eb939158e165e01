"""``GET /v/{document_id}``: the QR code's short link, a redirect to the verification page.

Security contract: only ids of the shape :func:`seal.sealing.new_document_id` makes are
redirected (``doc_`` and 24 lowercase hex digits), to a fixed local path, so the link can
be neither an open redirect nor a way to put arbitrary text into the page's URL; anything
else is a 404 problem. Whether the document exists is for the verification page to say.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from seal.errors import UnknownDocument
from seal.sealing import is_document_id

router = APIRouter(tags=["verification"])


@router.get("/v/{document_id}", include_in_schema=False)
def short_link(document_id: str) -> RedirectResponse:
    if not is_document_id(document_id):
        raise UnknownDocument("not a document id of this service").problem()
    # 302, not 301: a browser must not remember where a printed code leads.
    return RedirectResponse(f"/verify?document={document_id}", status_code=302)
