"""Stop a running algo (its working orders are cancelled by the engine)."""

from algos.management.algo_action import action_command
from algos.services import algo_stop

Command = action_command("stop", algo_stop, "Stop an algo run by id.")
