"""Rewriting references: what the new text of a span is (``propose_fix``) and, for ``fix``, how edits
are applied to the original bytes. Only the bytes inside a span ever change (SPEC §9).
"""

from __future__ import annotations

import os
import re

from . import urls
from .extract import charrefs
from .model import Applicability, Context, Edit, Fix, RefKind, Reference

_PORT_80 = re.compile(r"^(https:[/\\]*[^/\\?#]*?):80(?=[/\\?#]|$)")


def _twin_text(raw: str, url: str, base: str, context: Context) -> tuple[str, str | None]:
    """New text for ``raw`` (which resolves to http ``url``) so that it resolves to the https twin.

    Returns (replacement, reason-if-display-only).
    """
    twin = urls.https_twin(url)
    if raw[:5].lower() != "http:":
        return twin, "the scheme is written with character references or escapes; rewrite it by hand"
    rest = raw[5:]
    if rest[:1] not in ("/", "\\"):
        # "http:host/x" only means http://host/x against a non-http base; spell the twin out
        rest = "//" + rest
    candidate = _PORT_80.sub(r"\1", "https:" + rest)
    if "&" in raw or "\\" in raw and context is not Context.HTML and context is not Context.SRCDOC:
        return candidate, None
    decoded = charrefs.decode(candidate, attribute=True)[0] if context in (Context.HTML, Context.SRCDOC) else candidate
    start, end = urls.strip_ascii_whitespace(decoded)
    if urls.resolve(decoded[start:end], base) != twin:
        return twin, "the rewritten text would not resolve to the https twin exactly; rewrite it by hand"
    return candidate, None


def propose_fix(ref: Reference, file: str | None) -> Fix | None:
    """The fix for a finding's reference: new text for its span (or for the http <base href> it came
    through)."""
    if ref.url is None:
        return None
    target = ref
    if ref.via_base is not None:
        target = ref.via_base  # SPEC §6: references resolved through an http <base href> are fixed there
    elif not ref.page.startswith("https:") and not urls.may_be_http(charrefs.decode(ref.raw, attribute=True)[0]):
        return None  # a relative URL on an http page: the fix is serving the page over https
    if target.url is None:
        return None
    replacement, reason = _twin_text(target.raw, target.url, ref.page, target.context)
    if ref.kind is RefKind.SCRIPT_LITERAL:
        applicability = Applicability.DISPLAY_ONLY
        reason = reason or "script literals are never rewritten automatically"
    elif reason is not None:
        applicability = Applicability.DISPLAY_ONLY
    else:
        applicability = Applicability.UNSAFE
    edit = Edit(file=file, offset=target.span.start, length=target.span.length, new=replacement)
    return Fix(replacement=replacement, applicability=applicability, edits=(edit,), note=reason)


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` all at once: a temp file in the same directory, flushed
    and fsynced, then renamed over the target; the temp file never outlives a failure. Raises OSError."""
    tmp = f"{path}.tmp-mixedcontent-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
