"""quick_init: the same construction as the generated __init__, still frozen, and left alone where it cannot."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import InitVar, dataclass, field

import pytest

from core.frozen import quick_init


@dataclass(frozen=True, slots=True)
class Plain:
    name: str
    size: int = 1
    note: str | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class Quick:
    name: str
    size: int = 1
    note: str | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class Checked:
    size: int

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ValueError("negative")


def test_a_quick_class_takes_the_same_arguments_and_defaults_as_the_generated_init():
    assert str(inspect.signature(Quick)) == str(inspect.signature(Plain))
    assert (Quick("a"), Quick("a", 2, note="x"), Quick(size=3, name="b")) == (
        Quick("a", 1, None), Quick("a", 2, "x"), Quick("b", 3))
    assert dataclasses.astuple(Quick("a", 2, "x")) == dataclasses.astuple(Plain("a", 2, "x"))


def test_a_quick_instance_is_still_frozen_and_replace_still_works():
    quick = Quick("a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.size = 2  # type: ignore[misc]
    assert dataclasses.replace(quick, size=5) == Quick("a", 5)


def test_post_init_still_runs():
    with pytest.raises(ValueError, match="negative"):
        Checked(-1)


def test_classes_it_cannot_speak_for_keep_their_generated_init():
    @dataclass(frozen=True, slots=True)
    class WithFactory:
        items: list[int] = field(default_factory=list)

    @dataclass(frozen=True, slots=True)
    class WithInitVar:
        size: int
        scale: InitVar[int] = 1

    for cls in (WithFactory, WithInitVar):
        generated = cls.__init__
        assert quick_init(cls).__init__ is generated
    assert WithFactory().items == []


def test_a_class_without_slots_is_refused():
    @dataclass(frozen=True)
    class Unslotted:
        size: int

    with pytest.raises(TypeError):
        quick_init(Unslotted)
