"""Quicker construction for frozen, slotted dataclasses built per order event (a copy of the PMS's core/frozen.py:
simexchange imports nothing from the PMS).

A frozen dataclass's generated __init__ stores each field with object.__setattr__(self, "name", value), which
looks the attribute up by name on every call; for a class built per order event that is most of its cost.
`quick_init` gives the class an __init__ that stores through each slot's descriptor instead: the same
parameters, defaults and __post_init__, the instance as frozen as before. Classes it cannot speak for
(default factories, init=False or keyword-only fields, InitVars) keep their generated __init__.
"""

from __future__ import annotations

import inspect
from dataclasses import MISSING, fields, is_dataclass
from typing import Any, TypeVar

T = TypeVar("T")


def quick_init(cls: type[T]) -> type[T]:
    """Decorate a @dataclass(frozen=True, slots=True) class (apply above @dataclass)."""
    if not is_dataclass(cls) or "__slots__" not in cls.__dict__:
        raise TypeError(f"quick_init needs a slotted dataclass, got {cls.__name__}")
    declared = fields(cls)
    if [name for name in inspect.signature(cls.__init__).parameters][1:] != [f.name for f in declared]:
        return cls  # InitVars or fields left out of __init__: keep the generated one
    namespace: dict[str, Any] = {}
    parameters = []
    for field in declared:
        if field.default_factory is not MISSING or field.kw_only:
            return cls
        namespace[f"_set_{field.name}"] = cls.__dict__[field.name].__set__
        if field.default is MISSING:
            parameters.append(field.name)
        else:
            namespace[f"_default_{field.name}"] = field.default
            parameters.append(f"{field.name}=_default_{field.name}")
    body = "".join(f"    _set_{field.name}(self, {field.name})\n" for field in declared)
    if hasattr(cls, "__post_init__"):
        body += "    self.__post_init__()\n"
    exec(f"def __init__(self, {', '.join(parameters)}):\n{body or '    pass'}\n", namespace)  # noqa: S102 - as dataclasses does
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    init.__annotations__ = dict(cls.__init__.__annotations__)
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
