"""model.py's value classes: the fast ``__init__`` that ``built_fast`` gives them behaves as the dataclass
one (signature, defaults, ``__post_init__``, frozenness), and pickling round-trips."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mixedcontent import model
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
    Reference,
    RefKind,
    Severity,
    Span,
    positional,
)

FAST = [model.Span, model.Edit, model.Fix, Reference, Finding]

@pytest.mark.parametrize("cls", FAST, ids=lambda c: c.__name__)
def test_signature_is_the_dataclass_one(cls: type) -> None:
    params = list(inspect.signature(cls).parameters.values())
    fs = dataclasses.fields(cls)
    assert [p.name for p in params] == [f.name for f in fs]
    for p, f in zip(params, fs, strict=True):
        assert p.default is (inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default)
    assert cls.__init__.__qualname__ == f"{cls.__qualname__}.__init__"  # type: ignore[misc]


@pytest.mark.parametrize("cls", FAST, ids=lambda c: c.__name__)
def test_fields_set_positionally_and_by_name_and_frozen(cls: type) -> None:
    fs = dataclasses.fields(cls)
    values = [object() for _ in fs]
    by_position = cls(*values)
    by_name = cls(**{f.name: v for f, v in zip(fs, values, strict=True)})
    for f, v in zip(fs, values, strict=True):
        assert getattr(by_position, f.name) is v
        assert getattr(by_name, f.name) == getattr(by_position, f.name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(by_position, fs[0].name, 1)
    with pytest.raises(TypeError):
        cls(*values, None)  # one too many


def test_post_init_runs_and_defaults_hold() -> None:
    @model.built_fast
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        status: model.ProbeStatus
        reason: str = "none"

        def __post_init__(self) -> None:
            object.__setattr__(self, "status", model.ProbeStatus(self.status))

    assert Checked.__init__.__qualname__ == "test_post_init_runs_and_defaults_hold.<locals>.Checked.__init__"
    c = Checked("available")  # type: ignore[arg-type]
    assert c.status is model.ProbeStatus.AVAILABLE and c.reason == "none"
    with pytest.raises(ValueError, match="not a valid ProbeStatus"):
        Checked("bogus")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Checked()  # type: ignore[call-arg]  # a field without default is required


_text = st.text(max_size=8)
_maybe = st.none() | _text


@given(raw=_text, url=_maybe, start=st.integers(0, 10**6), length=st.integers(0, 100), element=_text,
       attribute=_maybe, secure=st.booleans(), detail=_maybe)
def test_reference_round_trips_and_equals_a_replace(raw: str, url: str | None, start: int, length: int,
                                                     element: str, attribute: str | None, secure: bool,
                                                     detail: str | None) -> None:
    span = Span(start, start + length, 1, 1)
    ref = Reference(RefKind.REQUEST, raw, url, span, element, attribute, Context.HTML, "image", "", secure, False,
                    "https://site.example/", detail=detail)
    assert pickle.loads(pickle.dumps(ref, -1)) == ref
    assert dataclasses.replace(ref) == ref and hash(dataclasses.replace(ref)) == hash(ref)
    assert dataclasses.replace(ref, raw=raw + "x").raw == raw + "x"
    assert ref.via_base is None and ref.ignore is None


FINDING_ORDER = ("code name category severity message file page line column offset length url raw element attribute "
                 "context destination initiator https fix fingerprint referrers suppressed_by record path "
                 "path_fingerprint confirmed_by initiator_location")


def test_a_positional_finding_is_the_one_keywords_make() -> None:
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
    built = positional(Finding, FINDING_ORDER)(*values.values())
    expected = Finding(**values)  # type: ignore[arg-type]
    assert type(built) is Finding
    assert built == expected
    assert [getattr(built, f.name) for f in dataclasses.fields(Finding)] == list(values.values())
    assert hash(built.fix) == hash(expected.fix)


def test_positional_values_stay_frozen() -> None:
    built = positional(Edit, "file offset length new old")("a.html", 0, 1, "x", None)
    assert built == Edit("a.html", 0, 1, "x")
    with pytest.raises(AttributeError):
        built.new = "y"  # type: ignore[misc]


def test_positional_refuses_an_order_that_is_not_the_fields() -> None:
    # a field added to the class, or two swapped, must fail at import, not shift the arguments
    with pytest.raises(TypeError, match="its fields are file offset length new old"):
        positional(Edit, "file offset length new")
    with pytest.raises(TypeError):
        positional(Edit, "file length offset new old")


def test_positional_refuses_a_class_without_the_fast_init() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Plain:
        x: int

    with pytest.raises(TypeError, match="built_fast"):
        positional(Plain, "x")
    assert positional(model.built_fast(Plain), "x")(3).x == 3


def test_a_class_of_many_fields_is_built_through_its_twin_and_cannot_be_subclassed() -> None:
    assert len(dataclasses.fields(Finding)) >= model._SWAP_FIELDS > len(dataclasses.fields(Span))

    @model.built_fast
    @dataclasses.dataclass(frozen=True, slots=True)
    class Wide:
        a: int
        b: int
        c: int
        d: int
        e: int
        f: int
        g: int
        h: int = 8

        def __post_init__(self) -> None:
            assert type(self) is Wide  # (its own class again when __post_init__ runs)

    w = Wide(1, 2, 3, 4, 5, 6, g=7)
    assert type(w) is Wide and dataclasses.astuple(w) == (1, 2, 3, 4, 5, 6, 7, 8)
    assert w == Wide(1, 2, 3, 4, 5, 6, 7, 8) and hash(w) == hash(Wide(1, 2, 3, 4, 5, 6, 7, 8))
    with pytest.raises(dataclasses.FrozenInstanceError):
        w.a = 2  # type: ignore[misc]
    for cls in (Wide, Finding, Reference):
        with pytest.raises(TypeError, match="cannot be subclassed"):
            type("Sub", (cls,), {"__slots__": ()})
