"""`manage.py seed_demo_algos`: the demo desk gets its scalpers once, as engine commands, and never twice."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from trading.models import AlgoRun, EngineCommand


@pytest.mark.django_db
def test_the_demo_scalpers_are_queued_once_and_a_rerun_adds_nothing():
    call_command("seed_demo", stdout=StringIO())
    out = StringIO()
    call_command("seed_demo_algos", stdout=out)
    runs = list(AlgoRun.objects.order_by("pk").values_list("sub_account__name", "kind", "status"))
    assert runs == [("alpha", "scalper", "pending"), ("beta", "scalper", "pending")]
    assert EngineCommand.objects.filter(kind="start_algo").count() == 2 and "queued for alpha" in out.getvalue()
    call_command("seed_demo_algos", stdout=StringIO())
    assert AlgoRun.objects.count() == 2  # restarts do not pile algos up
    call_command("seed_demo_algos", "--none", stdout=StringIO())
    assert AlgoRun.objects.count() == 2
