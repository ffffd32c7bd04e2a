"""Resume a paused algo from its kept state (algos.services.algo_resume)."""

from algos.management.algo_action import action_command
from algos.services import algo_resume

Command = action_command("resume", algo_resume, "Resume an algo run by id.")
