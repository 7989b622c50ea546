"""TEMPORARY (deleted after the run): the API fuzzer on the support routes only."""
import os
import random

import pytest

from partnerdesk.tests.fuzz_api import FuzzRun, load_schema
from partnerdesk.tests.fuzz_world import build_world

SEED = int(os.environ.get("PARTNERDESK_FUZZ_SEED") or random.SystemRandom().randrange(2**32))


@pytest.mark.django_db(transaction=True, reset_sequences=True)
@pytest.mark.parametrize("fuzz_pass", ["fixed", "random"])
@pytest.mark.parametrize("who", ["admin", "customer_a"])
def test_fuzz_support(who, fuzz_pass, users, tokens, customer_a, customer_b, operator, smtp_server, capsys):
    world = build_world(customer_a=customer_a, customer_b=customer_b, users=users, operator=operator)
    fixed = fuzz_pass == "fixed"
    seed = 20261124 if fixed else SEED
    schema = load_schema(seed=seed, max_examples=10, coverage=fixed and who == "admin", known=world.known)
    regex = r"^/api/v1/(cases|support/(settings|sla-policies|canned-replies|information))"
    schema = schema.include(path_regex=regex)
    schema.fields, schema.base = load_schema(seed=seed, max_examples=10, known=world.known).fields, \
        load_schema(seed=seed, max_examples=10, known=world.known).base
    run = FuzzRun(who=who, token=tokens[who], seed=seed, foreign=world.foreign if who != "admin" else None)
    run.fuzz(schema, sweep=fixed, max_seconds=1500)
    with capsys.disabled():
        print(f"\n{run.summary()}")
    if not run.requests or run.findings or run.errors:
        pytest.fail(run.report(), pytrace=False)
