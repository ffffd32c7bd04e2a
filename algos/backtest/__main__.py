"""`python -m algos.backtest ...`: the backtest without Django settings (no PostgreSQL, no Redis)."""

from __future__ import annotations

import argparse
import sys

from algos.backtest.cli import add_arguments, backtest_main
from algos.backtest.session import BacktestError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m algos.backtest",
                                     description="Backtest an execution algo on recorded or synthetic prices.")
    add_arguments(parser)
    options = vars(parser.parse_args(argv))
    try:
        backtest_main(options, stdout=sys.stdout, stderr=sys.stderr)
    except BacktestError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
