"""Pause a running algo: its working orders are cancelled, its state kept (algos.services.algo_pause)."""

from algos.management.algo_action import action_command
from algos.services import algo_pause

Command = action_command("pause", algo_pause, "Pause an algo run by id.")
