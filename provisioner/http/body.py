"""Reading an answer's body with a size limit (the answer is streamed, never read whole first)."""

from __future__ import annotations

import requests

from provisioner.http.limits import READ_CHUNK


class BodyTooLarge(requests.RequestException):
    """The answer's body is larger than the limit for its service; it was not read further."""

    def __init__(self, status: int, limit: int) -> None:
        super().__init__(f"the body of the {status} answer is larger than {limit} bytes")
        self.status = status
        self.limit = limit


def read_body(response: requests.Response, limit: int) -> None:
    """Read the whole body of a streamed `response` into it (`.content`, `.json()` then work as
    usual), or close it and raise BodyTooLarge as soon as it passes `limit` bytes (decoded)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isascii() and declared.isdigit() and len(declared) < 30 and int(declared) > limit:
        response.close()
        raise BodyTooLarge(response.status_code, limit)
    body = bytearray()
    for chunk in response.iter_content(READ_CHUNK):
        body += chunk
        if len(body) > limit:
            response.close()
            raise BodyTooLarge(response.status_code, limit)
    response._content = bytes(body)
