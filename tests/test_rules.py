"""Rules carry their messages (rules/__init__.py); closed sets are enums whose values are the contract's
strings (model.py)."""

from __future__ import annotations

import json

import pytest
from ada_url import URL
from hypothesis import given, settings
from hypothesis import strategies as st

from mixedcontent import classify, urls
from mixedcontent.classify import describe, finding_for, message
from mixedcontent.model import (
    Context,
    Destination,
    Initiator,
    ProbeResult,
    ProbeStatus,
    Reference,
    RefKind,
    Span,
    Target,
    TargetKind,
)
from mixedcontent.report.json import finding_dict, finding_from_dict
from mixedcontent.rules import RULES, MessageFacts, bound_template

WORKS = ProbeResult("available", "ok", 200, None, "image/png")
BROKEN = ProbeResult("unavailable", "http-404", 404, None, None)


def ref(url: str, element: str = "img", attribute: str = "src", destination: str = "image",
        initiator: str = "", detail: str | None = None) -> Reference:
    return Reference(kind=RefKind.REQUEST, raw=url, url=url, span=Span(10, 10 + len(url), 1, 11), element=element,
                     attribute=attribute, context=Context.HTML, destination=destination, initiator=initiator,
                     secure=True, upgrade_insecure=False, page="https://site.example/", detail=detail)


@pytest.mark.parametrize("code", [c for c in RULES if not c.startswith("MC5")])
def test_every_page_rule_has_its_own_message(code: str) -> None:
    assert RULES[code].message != "{what} {url}"
    assert "{what} {url}" in RULES[code].message


@pytest.mark.parametrize(("code", "reference", "probe", "expected"), [
    ("MC101", ref("http://cdn.example/a.png"), None,
     "<img src> http://cdn.example/a.png is upgraded to https by browsers; it breaks if https://cdn.example/a.png "
     "does not work"),
    ("MC101", ref("http://cdn.example/a.png"), WORKS,
     "<img src> http://cdn.example/a.png is upgraded to https by browsers, and https://cdn.example/a.png works "
     "(probed)"),
    ("MC102", ref("http://cdn.example/a.js", "script", destination="script"), WORKS,
     "<script src> http://cdn.example/a.js is blocked: an http script is blockable mixed content; "
     "https://cdn.example/a.js works (probed)"),
    ("MC102", ref("http://cdn.example/f.ico", "link", "href", detail="icon"), None,
     "<link rel=icon href> http://cdn.example/f.ico is blocked: an http favicon is blockable mixed content"),
    ("MC104", ref("http://[2001:db8::1]/a.png"), None,
     "<img src> http://[2001:db8::1]/a.png is never upgraded because its host is an IP literal: Chromium loads it "
     "insecurely with a warning, other browsers block it"),
    ("MC104", ref("http://192.0.2.1/a.png"), WORKS,
     "<img src> http://192.0.2.1/a.png is blocked: its host is an IP literal, which browsers never upgrade; "
     "https://192.0.2.1/a.png works (probed)"),
    ("MC302", ref("http://cdn.example/a.js", "script", destination="script"), BROKEN,
     "<script src> http://cdn.example/a.js is blocked, and https://cdn.example/a.js does not work either "
     "(http-404): serve it over https elsewhere"),
])
def test_messages_come_from_the_rules(code: str, reference: Reference, probe: ProbeResult | None,
                                      expected: str) -> None:
    assert message(code, reference, probe) == expected


def test_a_finding_carries_enum_members_that_serialise_as_before() -> None:
    f = finding_for(ref("http://cdn.example/a.png", "img", "srcset", initiator="imageset"), "a.html", "MC103", None,
                    "0123456789abcdef", https=WORKS)
    assert f.destination is Destination.IMAGE and f.initiator is Initiator.IMAGESET
    assert f.https is not None and f.https.status is ProbeStatus.AVAILABLE
    d = finding_dict(f)
    assert json.dumps([d["destination"], d["initiator"], d["https"]["status"]]) == '["image", "imageset", "available"]'
    back = finding_from_dict(json.loads(json.dumps(d)))
    assert finding_dict(back) == d and back.destination is Destination.IMAGE and back.initiator is Initiator.IMAGESET


def test_closed_sets_refuse_values_outside_them() -> None:
    assert Target("directory", ("public",), None).kind is TargetKind.DIRECTORY
    with pytest.raises(ValueError):
        Target("ftp-site", (), None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ProbeResult("maybe", "?")  # type: ignore[arg-type]


# ---- the memoized message path (classify.message through rules.bound_template) is format_message's --------

_PAGE_CODES = [c for c in RULES if not c.startswith("MC5")]
_URLS = ["http://cdn.example/a.png", "http://[2001:db8::1]/a.png", "http://192.0.2.1:8080/a.png",
         "http://cdn.example:443/x?q=1#f", "http://cdn.example/%7B0%7D", "ws://cdn.example/s"]


@st.composite
def _references(draw: st.DrawFn) -> Reference:
    # names that recur, and names carrying the braces str.format reads, in every slot a message fills
    url = draw(st.sampled_from(_URLS))
    return Reference(
        # members, and their plain strings (a cache keyed on values meets both)
        kind=draw(st.sampled_from([*RefKind, *(k.value for k in RefKind)])), raw=url, url=url, span=Span(0, len(url), 1, 1),
        element=draw(st.sampled_from(["img", "link", "@import", "@font-face", "div", "a{0}", "x}"])),
        attribute=draw(st.sampled_from([None, "", "src", "style", "background", "{1}", "{url}"])),
        context=draw(st.sampled_from([*Context, *(c.value for c in Context)])),
        destination=draw(st.sampled_from([None, "", "image", Destination.IMAGE, "script", "{what}"])),
        initiator=draw(st.sampled_from([None, "", "imageset"])), secure=True, upgrade_insecure=False,
        page="https://site.example/",
        detail=draw(st.sampled_from([None, "icon", "candidate 2", "stylesheet", "background-image", "{", "}}"])))


_PROBES = st.one_of(st.none(), st.builds(ProbeResult, st.sampled_from(list(ProbeStatus)),
                                         st.sampled_from(["http-404", "tls: {bad}", "}", "ok"])))


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(_PAGE_CODES), _references(), _PROBES)
def test_memoized_message_is_the_rules_format(code: str, reference: Reference, probe: ProbeResult | None) -> None:
    # the oracle: the rule's template formatted with every fact at once, nothing memoized
    what = classify._describe.__wrapped__(reference.context, reference.kind, reference.element,  # noqa: SLF001
                                          reference.attribute, reference.detail)
    url = reference.url or ""
    rule = RULES[code]
    expected = rule.format_message(MessageFacts(
        what=what, url=url, twin=urls.https_twin(url),
        why=probe.reason if probe is not None else "no working https twin",
        dest="favicon" if reference.detail == "icon" else reference.destination or "request",
        twin_works=probe is not None and probe.works,
        ipv6=rule.message_ipv6 is not None and URL(url).host.startswith("[")))
    assert describe(reference) == what
    # twice: once as the cache meets it (a hit for keys earlier examples made), once surely from the cache
    assert message(code, reference, probe) == expected
    assert message(code, reference, probe) == expected


def test_bound_template_fills_the_recurring_facts_escaped() -> None:
    # the URL and its twin stay fields; text filled in is escaped, so its braces are text
    assert bound_template("MC101", "<img src>", "image", "x", False, False) == (
        "<img src> {0} is upgraded to https by browsers; it breaks if {1} does not work", True)
    assert bound_template("MC102", "<a{0}>", "{dest}", "x", False, False) == (
        "<a{{0}}> {0} is blocked: an http {{dest}} is blockable mixed content", False)
