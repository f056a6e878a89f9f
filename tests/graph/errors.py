"""Error answers of Graph and of the Microsoft identity platform, shaped as documented.

Sources (the keys are cited where each answer is made):
- [G-ERR]   "Microsoft Graph error responses and resource types" (concepts/errors.md in
            microsoftgraph/microsoft-graph-docs-contrib): ``{"error": {"code", "message",
            "innerError": {"request-id", "date"}}}``; the basic codes (invalidRange, invalidRequest,
            serviceNotAvailable, syncStateNotFound, ...) and detailed ones (fragmentOutOfOrder,
            fragmentOverlap, fragmentLengthMismatch, maxFragmentLengthExceeded).
- [G-THR]   "Microsoft Graph throttling guidance" (concepts/throttling.md), sample response:
            429, ``Retry-After``, code TooManyRequests, message "Please retry again later.", innerError
            with code "429".
- [ENTRA]   "Microsoft identity platform and the OAuth 2.0 client credentials flow"
            (MicrosoftDocs/entra-docs, v2-oauth2-client-creds-grant-flow.md), error response:
            ``error``, ``error_description`` ("AADSTSnnnn: ...\\r\\nTrace ID: ...\\r\\nCorrelation ID:
            ...\\r\\nTimestamp: ..."), ``error_codes``, ``timestamp``, ``trace_id``, ``correlation_id``;
            captured answers add ``error_uri`` ("https://login.microsoftonline.com/error?code=N").
"""

from __future__ import annotations

import datetime as dt
import json
import uuid


class GraphError(Exception):
    """Raised by a handler: the server answers ``status`` with Graph's error body [G-ERR]."""

    def __init__(self, status: int, code: str, message: str, *, inner_code: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.inner_code = inner_code
        self.headers = headers or {}

    def body(self) -> bytes:
        now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        inner = {"date": now, "request-id": str(uuid.uuid4()), "client-request-id": str(uuid.uuid4())}
        if self.inner_code:
            inner = {"code": self.inner_code, **inner}
        return json.dumps({"error": {"code": self.code, "message": self.message, "innerError": inner}}).encode()


def not_found() -> GraphError:
    # Exchange's text for an item or folder id that names nothing (as in EWS's ErrorItemNotFound).
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def malformed_id() -> GraphError:
    return GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")


def throttled(retry_after: int) -> GraphError:
    """The 429 of [G-THR]; innerError code "429" as in the sample."""
    return GraphError(429, "TooManyRequests", "Please retry again later.", inner_code="429",
                      headers={"Retry-After": str(retry_after)})


def unavailable(retry_after: int) -> GraphError:
    # 503 with Retry-After: [G-ERR] status table and code serviceNotAvailable.
    return GraphError(503, "serviceNotAvailable", "The service is not available. Try the request again after a delay.",
                      headers={"Retry-After": str(retry_after)})


def token_error(status: int, error: str, code: int, text: str) -> tuple[int, bytes]:
    """(status, body) of the identity platform's error answer [ENTRA]."""
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
    return status, json.dumps({
        "error": error,
        "error_description": f"AADSTS{code}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {corr}\r\nTimestamp: {now}",
        "error_codes": [code], "timestamp": now, "trace_id": trace, "correlation_id": corr,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}"}).encode()
