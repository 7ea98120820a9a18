"""Web archives for tests: WARC records written with warcio, exactly as given."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


def http_response(writer: WARCWriter, uri: str, body: bytes, headers: list[tuple[str, str]] | None = None,
                  status: str = "200 OK", extra: dict[str, str] | None = None) -> Any:
    """A WARC response record whose block is ``body`` exactly as sent on the wire (after the headers)."""
    http = StatusAndHeaders(status, headers if headers is not None else [("Content-Type", "text/html")],
                            protocol="HTTP/1.1")
    return writer.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=http,
                                     warc_headers_dict=extra or {})


def write_warc(path: str, build: Callable[[WARCWriter], list[Any]], gz: bool = True) -> list[int]:
    """Write the records ``build`` makes; returns each record's offset in the file."""
    offsets = []
    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=gz)
        for record in build(writer):
            offsets.append(f.tell())
            writer.write_record(record)
    return offsets
