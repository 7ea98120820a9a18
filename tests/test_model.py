"""model.slot_builder: the positional constructor the judging hot path makes its Findings, Fixes and Edits with
makes the same values as the dataclass's own ``__init__``, and refuses what it cannot make the same way."""

from __future__ import annotations

from dataclasses import dataclass, fields

import pytest

from mixedcontent.model import (
    Applicability,
    ArchiveRecord,
    Category,
    Context,
    Destination,
    Edit,
    Finding,
    Fix,
    Initiator,
    InitiatorLocation,
    ProbeResult,
    ProbeStatus,
    Severity,
    slot_builder,
)

FINDING_ORDER = ("code name category severity message file page line column offset length url raw element attribute "
                 "context destination initiator https fix fingerprint referrers suppressed_by record path "
                 "path_fingerprint confirmed_by initiator_location")


def test_slot_builder_makes_the_finding_init_makes() -> None:
    # every field set to a value of its own, none left at its default
    edit = Edit("a.html", 3, 4, "https://x.test/", "http://x.test/")
    values = dict(
        code="MC102", name="blockable-request", category=Category.BLOCKABLE, severity=Severity.ERROR,
        message="m", file="a.html", page="https://p.test/a.html", line=1, column=2, offset=3, length=4,
        url="http://x.test/", raw="http://x.test/", element="img", attribute="src", context=Context.HTML,
        destination=Destination.IMAGE, initiator=Initiator.IMAGESET, https=ProbeResult(ProbeStatus.AVAILABLE, "ok"),
        fix=Fix("https://x.test/", Applicability.UNSAFE, (edit,), "n"), fingerprint="f1", referrers=("r",),
        suppressed_by="baseline", record=ArchiveRecord(7, "u"), path="site/a.html", path_fingerprint="f2",
        confirmed_by="chromium", initiator_location=InitiatorLocation("u", 1, 2, 3))
    built = slot_builder(Finding, FINDING_ORDER)(*values.values())
    expected = Finding(**values)  # type: ignore[arg-type]
    assert type(built) is Finding
    assert built == expected
    assert [getattr(built, f.name) for f in fields(Finding)] == list(values.values())
    assert hash(built.fix) == hash(expected.fix)


def test_slot_builder_values_stay_frozen() -> None:
    built = slot_builder(Edit, "file offset length new old")("a.html", 0, 1, "x", None)
    assert built == Edit("a.html", 0, 1, "x")
    with pytest.raises(AttributeError):
        built.new = "y"  # type: ignore[misc]


def test_slot_builder_refuses_an_order_that_is_not_the_fields() -> None:
    # a field added to the class, or two swapped, must fail at import, not shift the arguments
    with pytest.raises(TypeError, match="its fields are file offset length new old"):
        slot_builder(Edit, "file offset length new")
    with pytest.raises(TypeError):
        slot_builder(Edit, "file length offset new old")


def test_slot_builder_refuses_a_class_whose_init_does_more() -> None:
    @dataclass(frozen=True, slots=True)
    class Checked:
        x: int

        def __post_init__(self) -> None:
            if self.x < 0:
                raise ValueError(self.x)

    @dataclass(frozen=True)
    class Unslotted:
        x: int

    with pytest.raises(TypeError, match="__post_init__"):
        slot_builder(Checked, "x")
    with pytest.raises(TypeError, match="slotted"):
        slot_builder(Unslotted, "x")
