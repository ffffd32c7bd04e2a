"""`python -m algos.strategies.backtest --strategy ensemble --data PATH`: a strategy backtest without Django."""

import sys

from algos.strategies.backtest.cli import main

sys.exit(main())
