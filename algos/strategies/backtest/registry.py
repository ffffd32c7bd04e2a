"""The strategies a backtest can name. (The runtime's registry loads strategies from the configured folder for
live instances; a backtest names the built-in ones here.)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from algos.strategies.ensemble.params import ParameterError
from algos.strategies.ensemble.strategy import EnsembleStrategy

STRATEGIES: dict[str, Any] = {"ensemble": EnsembleStrategy}


class UnknownStrategyError(ValueError):
    pass


def strategy_build(name: str, symbols: Sequence[str], params: Mapping[str, str], *, seed: int = 0) -> Any:
    """A fresh instance with these parameters; a clear error (nothing built) for an unknown name or parameter."""
    cls = STRATEGIES.get(name.lower())
    if cls is None:
        raise UnknownStrategyError(f"unknown strategy {name!r}; choose one of {', '.join(sorted(STRATEGIES))}")
    try:
        return cls(symbols, **{**params, "seed": seed})
    except ParameterError as exc:
        raise UnknownStrategyError(f"{name}: {exc}") from None
