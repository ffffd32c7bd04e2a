"""A desk of two operators and three sub-accounts: alpha (ann), beta (bob), gamma (both)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from rest_framework.test import APIClient

from trading.models import SubAccount
from trading.services import subaccount_deposit

D = Decimal


@pytest.fixture(autouse=True)
def _fresh_throttle_history() -> None:
    cache.clear()  # throttle counters live in this test run's own Redis database


@pytest.fixture
def desk(db: None, instruments: None) -> dict[str, Any]:
    ann = User.objects.create_user("ann", password="ann-password-1")
    bob = User.objects.create_user("bob", password="bob-password-1")
    subs = {name: SubAccount.objects.create(name=name) for name in ("alpha", "beta", "gamma")}
    subs["alpha"].operators.add(ann)
    subs["beta"].operators.add(bob)
    subs["gamma"].operators.add(ann, bob)
    for sub in subs.values():
        subaccount_deposit(sub_account_id=sub.pk, amount=D("10000"), actor="test")
    return {"ann": ann, "bob": bob, **subs}


@pytest.fixture
def client_for() -> Callable[[User], APIClient]:
    def make(user: User) -> APIClient:
        client = APIClient()
        client.force_login(user)
        return client

    return make

