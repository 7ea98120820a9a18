"""Fuzz properties of the srcset parser (HTML §4.8.4.3.10): on any value it never raises, and each
candidate is a non-empty run of non-whitespace inside the value, in order, not overlapping, not
starting with a comma, and not ending with one unless descriptors followed it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mixedcontent.extract.srcset import candidates

WS = "\t\n\f\r "
values = st.lists(
    st.sampled_from(
        [
            "a.png",
            "http://c.example/x,y.png",
            " ",
            ",",
            ",,",
            "1x",
            "2x",
            "100w",
            "(",
            ")",
            "data:image/png;base64,AAA=",
            "\n",
            "\t",
            "é",
            "x",
        ]
    ),
    max_size=30,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(values, st.text(max_size=40)))
def test_candidates_are_ordered_non_empty_runs_without_whitespace(value: str) -> None:
    last = 0
    for start, end in candidates(value):
        assert last <= start < end <= len(value)
        url = value[start:end]
        assert not any(c in WS for c in url)
        assert not url.startswith(",")
        last = end


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.from_regex(r"[a-z]{1,5}\.png", fullmatch=True), min_size=1, max_size=5),
    st.sampled_from([", ", " 1x, ", " 2x,", " 100w , "]),
)
def test_each_written_candidate_is_found(urls: list[str], separator: str) -> None:
    value = separator.join(urls)
    assert [value[s:e] for s, e in candidates(value)] == urls
