"""The strategies a backtest can name: the runtime's registry (code strategies and the files in PMS_STRATEGY_DIRS,
default strategies/), so a backtest runs exactly what a live instance would."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from algos.strategies.runtime.registry import StrategyError, StrategyRegistry

REPO = Path(__file__).resolve().parents[3]


class UnknownStrategyError(ValueError):
    pass


def strategy_dirs() -> list[Path]:
    """PMS_STRATEGY_DIRS as the settings read it (os.pathsep-separated), without needing Django."""
    text = os.environ.get("PMS_STRATEGY_DIRS", str(REPO / "strategies"))
    return [Path(folder) for folder in text.split(os.pathsep) if folder]


def strategy_build(name: str, symbols: Sequence[str], params: Mapping[str, Any], *, seed: int = 0,
                   registry: StrategyRegistry | None = None) -> Any:
    """A fresh instance with these parameters; a clear error (nothing built) for an unknown name or parameter.
    The backtest's seed goes to a strategy whose info lists a `seed` parameter, unless the parameters give one."""
    registry = registry or StrategyRegistry(dirs=strategy_dirs())
    try:
        entry = registry.get(name.lower())
        parameters = dict(params)
        if "seed" in entry.info.parameters and "seed" not in parameters:
            parameters["seed"] = seed
        return registry.create(entry.info.name, symbols, parameters)
    except StrategyError as exc:
        raise UnknownStrategyError(str(exc)) from None
