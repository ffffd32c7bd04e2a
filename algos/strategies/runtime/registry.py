"""The strategy registry: strategies from code (module paths) and from files in the configured folders.

Files are read, never uploaded: ops put a `.py` file in a folder named in PMS_STRATEGY_DIRS. Each lookup
re-reads the folder; a file whose content changed is loaded afresh (a new module from its spec), so a
restarted instance runs the new code while running instances keep the class they were built with.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import logging
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from algos.strategies.base import Strategy, StrategyInfo

logger = logging.getLogger(__name__)
CODE_MODULES = ("algos.strategies.chaos",)
# Built alongside; registered when present.
OPTIONAL_CODE_MODULES = ("algos.strategies.ensemble", "algos.strategies.predmarket")
CALLBACKS = ("symbols", "timeframes", "on_tick", "on_bar", "on_trade", "on_fill", "on_risk_breach")


class StrategyError(ValueError):
    """An unknown strategy, a file that does not load, or parameters the strategy refuses."""


@dataclass(frozen=True)
class StrategyEntry:
    info: StrategyInfo
    cls: type
    source: str  # "module algos.strategies.chaos" or the file's path


def is_strategy_class(candidate: object) -> bool:
    return (inspect.isclass(candidate) and isinstance(getattr(candidate, "info", None), StrategyInfo)
            and all(callable(getattr(candidate, name, None)) for name in CALLBACKS))


def strategy_classes(module: ModuleType) -> list[type]:
    """A module's STRATEGIES if it lists them, else the strategy classes defined in it (or its submodules)."""
    listed = getattr(module, "STRATEGIES", None)
    if listed is not None:
        return [cls for cls in listed if is_strategy_class(cls)]
    return [cls for _, cls in inspect.getmembers(module, is_strategy_class)
            if cls.__module__ == module.__name__ or cls.__module__.startswith(module.__name__ + ".")]


class StrategyRegistry:
    def __init__(self, *, modules: Sequence[str] = CODE_MODULES, dirs: Iterable[str | Path] = (),
                 optional_modules: Sequence[str] = OPTIONAL_CODE_MODULES) -> None:
        self.dirs = [Path(folder) for folder in dirs]
        self._code: dict[str, StrategyEntry] = {}
        self._files: dict[Path, tuple[str, list[StrategyEntry]]] = {}  # path -> (content digest, entries)
        self.errors: dict[str, str] = {}  # file path -> why it did not load
        for module_path in modules:
            self.register_module(module_path)
        for module_path in optional_modules:
            try:
                if importlib.util.find_spec(module_path) is not None:
                    self.register_module(module_path)
            except Exception as exc:  # an optional package that does not import is reported, not fatal
                self.errors[module_path] = f"{type(exc).__name__}: {exc}"
                logger.warning("strategy module %s did not load: %s", module_path, exc)

    # -- code --------------------------------------------------------------------------------------
    def register_module(self, module_path: str) -> None:
        for cls in strategy_classes(importlib.import_module(module_path)):
            self.register(cls, source=f"module {module_path}")

    def register(self, cls: type, *, source: str = "code") -> type:
        if not is_strategy_class(cls):
            raise StrategyError(f"{cls!r} is not a strategy: it needs an `info` StrategyInfo and the callbacks "
                                f"{', '.join(CALLBACKS)}")
        info: StrategyInfo = cls.info  # type: ignore[attr-defined]
        existing = self._code.get(info.name)
        if existing is not None and existing.cls is not cls:
            raise StrategyError(f"strategy {info.name!r} is already registered from {existing.source}")
        self._code[info.name] = StrategyEntry(info, cls, source)
        return cls

    # -- lookups -----------------------------------------------------------------------------------
    def entries(self) -> dict[str, StrategyEntry]:
        """Every strategy by name: code first, then files (a file cannot shadow a code strategy)."""
        found = dict(self._code)
        for path, (_, file_entries) in sorted(self._scan().items()):
            for entry in file_entries:
                if entry.info.name in found:
                    self.errors[str(path)] = (f"strategy {entry.info.name!r} is already defined by "
                                              f"{found[entry.info.name].source}; the file's is ignored")
                    continue
                found[entry.info.name] = entry
        return found

    def infos(self) -> list[StrategyInfo]:
        return [entry.info for _, entry in sorted(self.entries().items())]

    def get(self, name: str) -> StrategyEntry:
        entries = self.entries()
        entry = entries.get(name)
        if entry is None:
            known = ", ".join(sorted(entries)) or "none"
            broken = "".join(f"; {path} did not load: {why}" for path, why in sorted(self.errors.items()))
            raise StrategyError(f"unknown strategy {name!r}; registered: {known}{broken}")
        return entry

    def create(self, name: str, symbols: Sequence[str], parameters: Mapping[str, Any]) -> Strategy:
        """A new instance, from the file's current content when it is a file strategy."""
        entry = self.get(name)
        try:
            strategy = entry.cls(symbols=tuple(symbols), **dict(parameters))
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise StrategyError(f"strategy {name!r} refused its parameters: {exc}") from None
        if not isinstance(strategy, Strategy):
            raise StrategyError(f"strategy {name!r} built something that is not a Strategy")
        return strategy

    # -- files -------------------------------------------------------------------------------------
    def _scan(self) -> dict[Path, tuple[str, list[StrategyEntry]]]:
        present: set[Path] = set()
        for folder in self.dirs:
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.py")):
                if path.name.startswith("_"):
                    continue
                present.add(path)
                self._load_if_changed(path)
        for gone in set(self._files) - present:
            del self._files[gone]
        return {path: self._files[path] for path in present if path in self._files}

    def _load_if_changed(self, path: Path) -> None:
        try:
            source = path.read_bytes()
        except OSError as exc:
            self.errors[str(path)] = str(exc)
            return
        digest = hashlib.sha256(source).hexdigest()
        known = self._files.get(path)
        if known is not None and known[0] == digest:
            return
        self.errors.pop(str(path), None)
        module_name = f"pms_strategy_files.{path.stem}_{digest[:12]}"
        try:
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                raise ImportError("no loader for this file")
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module  # dataclasses and pickling look a class's module up here
            spec.loader.exec_module(module)
        except Exception as exc:  # a broken file is reported, never fatal to the engine
            sys.modules.pop(module_name, None)
            self.errors[str(path)] = f"{type(exc).__name__}: {exc}"
            self._files.pop(path, None)
            logger.warning("strategy file %s did not load: %s", path, exc)
            return
        entries = [StrategyEntry(cls.info, cls, str(path)) for cls in strategy_classes(module)]  # type: ignore[attr-defined]
        self._files[path] = (digest, entries)
        if known is not None:
            logger.info("strategy file %s changed: reloaded (%s)", path, ", ".join(e.info.name for e in entries))
