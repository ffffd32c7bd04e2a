"""Strategy instances: which registered strategy runs, with which parameters, for which sub-account."""

from __future__ import annotations

from django.db import models

from trading.models import AlgoRun, SubAccount


class StrategyInstance(models.Model):
    """A configured strategy. Code comes from the registry (code or PMS_STRATEGY_DIRS), never from here;
    enabling starts an AlgoRun of kind "strategy" through the engine, disabling stops it."""

    name = models.CharField(max_length=64, unique=True)
    strategy = models.CharField(max_length=64, help_text="the registered name of the strategy (registry)")
    symbols = models.CharField(max_length=255, help_text="comma-separated, e.g. BTCUSDT,ETHUSDT")
    parameters = models.JSONField(default=dict, blank=True, help_text="the strategy's own parameters (a JSON "
                                  "object), checked by the strategy when saved")
    sub_account = models.ForeignKey(SubAccount, on_delete=models.PROTECT, related_name="strategy_instances")
    enabled = models.BooleanField(default=False)
    algo_run = models.ForeignKey(AlgoRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                 help_text="the run started by the last enable (None while disabled)")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.strategy})"

    def start_params(self) -> dict[str, object]:
        """What algo_start(kind="strategy") takes for this instance."""
        return {"strategy": self.strategy, "symbols": self.symbols, "parameters": dict(self.parameters or {})}
