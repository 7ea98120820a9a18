"""Rules carry their messages (rules/__init__.py); closed sets are enums whose values are the contract's
strings (model.py)."""

from __future__ import annotations

import json

import pytest

from mixedcontent.classify import finding_for, message
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
from mixedcontent.rules import RULES

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
