"""HTML character references, decoded with a map back to the raw text.

HTML §13.2.5.72-80 (character reference states). Attribute values follow the historical rule:
a named reference without ``;`` followed by ``=`` or an ASCII alphanumeric is left as written.
"""

from __future__ import annotations

import re
from html.entities import html5

_NAMED_MAX = max(len(k) for k in html5)
_REF = re.compile(r"&(?:#[xX]([0-9A-Fa-f]+);?|#([0-9]+);?|([A-Za-z][A-Za-z0-9]*;?))")
_XML_NAMED = {"lt;": "<", "gt;": ">", "amp;": "&", "quot;": '"', "apos;": "'"}

# HTML §13.2.5.80 numeric character reference end state: C1 controls map through windows-1252.
_C1 = {
    0x80: 0x20AC, 0x82: 0x201A, 0x83: 0x0192, 0x84: 0x201E, 0x85: 0x2026, 0x86: 0x2020, 0x87: 0x2021,
    0x88: 0x02C6, 0x89: 0x2030, 0x8A: 0x0160, 0x8B: 0x2039, 0x8C: 0x0152, 0x8E: 0x017D, 0x91: 0x2018,
    0x92: 0x2019, 0x93: 0x201C, 0x94: 0x201D, 0x95: 0x2022, 0x96: 0x2013, 0x97: 0x2014, 0x98: 0x02DC,
    0x99: 0x2122, 0x9A: 0x0161, 0x9B: 0x203A, 0x9C: 0x0153, 0x9E: 0x017E, 0x9F: 0x0178,
}


def _numeric(code: int) -> str:
    # HTML §13.2.5.80: null, out of range and surrogates become U+FFFD
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return chr(_C1.get(code, code))


def decode(raw: str, *, attribute: bool, xml: bool = False) -> tuple[str, list[int] | None]:
    """Decode character references in ``raw``.

    Returns ``(text, index)`` where ``index[i]`` is the code-point index in ``raw`` where decoded
    character ``i`` came from, and ``index[len(text)] == len(raw)``; ``index`` is None when nothing
    was decoded (then positions are identical).
    """
    if "&" not in raw:
        return raw, None
    out: list[str] = []
    index: list[int] = []
    pos = 0
    changed = False
    for m in _REF.finditer(raw):
        start = m.start()
        hexa, dec, name = m.groups()
        replacement: str | None = None
        end = m.end()
        if hexa is not None:
            replacement = _numeric(int(hexa, 16)) if len(hexa) < 9 else "\ufffd"
        elif dec is not None:
            replacement = _numeric(int(dec)) if len(dec) < 9 else "\ufffd"
        elif xml:
            replacement = _XML_NAMED.get(name) or (html5.get(name) if name.endswith(";") else None)
        else:
            # HTML §13.2.5.73 named character reference state: the longest matching name wins
            for k in range(min(len(name), _NAMED_MAX), 1, -1):
                candidate = name[:k]
                if candidate in html5:
                    end = start + 1 + k
                    if (attribute and not candidate.endswith(";") and end < len(raw)
                            and (raw[end] == "=" or raw[end].isascii() and raw[end].isalnum())):
                        replacement = None
                    else:
                        replacement = html5[candidate]
                    break
        if replacement is None:
            continue
        changed = True
        if start > pos:
            out.append(raw[pos:start])
            index.extend(range(pos, start))
        out.append(replacement)
        index.extend([start] * len(replacement))
        pos = end
    if not changed:
        return raw, None
    out.append(raw[pos:])
    index.extend(range(pos, len(raw) + 1))
    return "".join(out), index


def raw_range(index: list[int] | None, start: int, end: int) -> tuple[int, int]:
    """Map a decoded [start, end) range back to raw indexes (whole references stay whole)."""
    if index is None:
        return start, end
    raw_start = index[start]
    if end >= len(index) - 1:
        return raw_start, index[-1]
    raw_end = index[end]
    # a multi-character expansion split by ``end`` keeps its whole reference on the left side
    while end > start and index[end] == index[end - 1]:
        end += 1
        if end >= len(index) - 1:
            return raw_start, index[-1]
        raw_end = index[end]
    return raw_start, raw_end
