"""The strategy registry: code strategies, files from the configured folder, reload on change, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from algos.strategies.runtime.registry import StrategyError, StrategyRegistry

REPO = Path(__file__).resolve().parents[3]

FILE_V1 = '''
from algos.strategies.base import BaseStrategy, StrategyInfo


class Probe(BaseStrategy):
    info = StrategyInfo("probe", "{version}", {{"size": "1"}})
'''


def test_code_strategies_are_listed_with_name_version_and_parameters():
    infos = {info.name: info for info in StrategyRegistry().infos()}
    assert {"runaway", "risk_ignorant", "volatility_amplifier", "correlation_breaker", "slow_leak"} <= set(infos)
    assert infos["runaway"].version == "1" and infos["runaway"].parameters["count"] == 100


def test_the_example_file_in_the_strategies_folder_is_loaded_and_built_with_its_parameters():
    registry = StrategyRegistry(dirs=[REPO / "strategies"])
    entry = registry.get("sma_cross")
    assert entry.source.endswith("strategies/sma_cross.py")
    strategy = registry.create("sma_cross", ["BTCUSDT"], {"fast": 3, "slow": 9})
    assert strategy.symbols() == ("BTCUSDT",) and strategy.timeframes() == ("1m",)


def test_an_unknown_name_is_a_clear_error_listing_what_is_registered():
    with pytest.raises(StrategyError, match=r"unknown strategy 'nope'; registered: .*runaway"):
        StrategyRegistry().get("nope")


def test_parameters_a_strategy_refuses_are_a_clear_error(tmp_path: Path):
    with pytest.raises(StrategyError, match="correlation_breaker needs two symbols"):
        StrategyRegistry().create("correlation_breaker", ["BTCUSDT"], {})
    with pytest.raises(StrategyError, match="fast must be below slow"):
        StrategyRegistry(dirs=[REPO / "strategies"]).create("sma_cross", ["BTCUSDT"], {"fast": 9, "slow": 3})


def test_a_changed_file_is_reloaded_for_the_next_instance_while_the_old_instance_keeps_its_code(tmp_path: Path):
    path = tmp_path / "probe.py"
    path.write_text(FILE_V1.format(version="1"))
    registry = StrategyRegistry(modules=(), optional_modules=(), dirs=[tmp_path])
    first = registry.create("probe", ["BTCUSDT"], {})
    path.write_text(FILE_V1.format(version="2"))
    second = registry.create("probe", ["BTCUSDT"], {})
    assert (first.info.version, second.info.version) == ("1", "2")
    assert registry.infos()[0].version == "2"


def test_a_broken_file_is_reported_and_does_not_hide_the_others(tmp_path: Path):
    (tmp_path / "broken.py").write_text("def oops(:\n")
    (tmp_path / "probe.py").write_text(FILE_V1.format(version="1"))
    registry = StrategyRegistry(modules=(), optional_modules=(), dirs=[tmp_path])
    assert [info.name for info in registry.infos()] == ["probe"]
    assert "SyntaxError" in registry.errors[str(tmp_path / "broken.py")]
    with pytest.raises(StrategyError, match=r"broken\.py did not load: SyntaxError"):
        registry.get("missing")


def test_a_file_cannot_shadow_a_code_strategy(tmp_path: Path):
    (tmp_path / "shadow.py").write_text(FILE_V1.replace('"probe"', '"runaway"').format(version="9"))
    registry = StrategyRegistry(dirs=[tmp_path])
    assert registry.get("runaway").source == "module algos.strategies.chaos"
    assert "already defined by module algos.strategies.chaos" in registry.errors[str(tmp_path / "shadow.py")]
