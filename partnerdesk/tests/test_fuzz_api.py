"""Fuzzing the whole REST API with schemathesis, as an admin and as a customer's user, on a database with real
rows: every operation, state-changing ones included, gets the coverage phase's boundary and invalid values,
random valid and invalid requests, and an edge-value sweep (fuzz_api.py says what each is). The build fails on
any 5xx (a 502 only as the documented operator failure), any answer the OpenAPI does not document (status
code, content type, body schema), and any answer to a customer's user carrying another customer's data.

Each pass runs on a freshly built database (fuzz_world.py), with a fixed seed (the same requests every time; with
the edge sweep, and for the admin the coverage phase) or a new random seed. Each database CI runs on gets two
passes, users and seeds crossed over (PASSES), so that CI as a whole gives each user both.
A pass prints its request count and seed; a failing pass lists each distinct failure once, with its shortest
request. To repeat a random pass:

    PARTNERDESK_FUZZ_SEED=<seed> PARTNERDESK_FUZZ_ALL_PASSES=1 .venv/bin/python -m pytest 'partnerdesk/tests/test_fuzz_api.py::test_fuzz_api[admin-random]'

(with the same PARTNERDESK_FUZZ_EXAMPLES, if it was set: the failure message gives the whole command).

PARTNERDESK_FUZZ_EXAMPLES: random requests per operation (default 10); PARTNERDESK_FUZZ_MAX_SECONDS: time
allowed per pass before it fails (default 600; a pass takes 10-45s on a quiet machine).
"""

import json
import os
import random

import pytest

from partnerdesk.tests.fuzz_api import FuzzRun, load_schema
from partnerdesk.tests.fuzz_world import build_world

FIXED_SEED = 20261124
RANDOM_SEED = int(os.environ.get("PARTNERDESK_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
EXAMPLES = int(os.environ.get("PARTNERDESK_FUZZ_EXAMPLES", "10"))
MAX_SECONDS = float(os.environ.get("PARTNERDESK_FUZZ_MAX_SECONDS", "600"))


# CI runs the suite once on SQLite and once on PostgreSQL: each database gets one fixed and one random pass, the
# two users crossed over, so that between them CI fuzzes every user with both seeds (each pass takes minutes).
# PARTNERDESK_FUZZ_ALL_PASSES=1 runs all four on one database.
_ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres:", "postgresql:"))
PASSES = ([("admin", "fixed"), ("admin", "random"), ("customer_a", "fixed"), ("customer_a", "random")]
          if os.environ.get("PARTNERDESK_FUZZ_ALL_PASSES") == "1"
          else [("admin", "random"), ("customer_a", "fixed")] if _ON_POSTGRES
          else [("admin", "fixed"), ("customer_a", "random")])


@pytest.mark.django_db(transaction=True, reset_sequences=True)  # the app commits; ids start at 1 in every pass
@pytest.mark.parametrize("who,fuzz_pass", PASSES, ids=[f"{who}-{fuzz_pass}" for who, fuzz_pass in PASSES])
def test_fuzz_api(request, who, fuzz_pass, users, tokens, customer_a, customer_b, operator, smtp_server, capsys):
    world = build_world(customer_a=customer_a, customer_b=customer_b, users=users, operator=operator)
    fixed = fuzz_pass == "fixed"
    seed = FIXED_SEED if fixed else RANDOM_SEED
    # The coverage phase (thousands of requests) once per database: for a customer's user, mostly 403s.
    schema = load_schema(seed=seed, max_examples=EXAMPLES, coverage=fixed and who == "admin", known=world.known)
    run = FuzzRun(who=who, token=tokens[who], seed=seed, foreign=world.foreign if who != "admin" else None)
    run.fuzz(schema, sweep=fixed, max_seconds=MAX_SECONDS)

    with capsys.disabled():  # the request count and the seed, also when the pass succeeds
        print(f"\n{run.summary()}")
    if not run.requests or run.findings or run.errors:
        repeat = "" if fixed else (f"\nRepeat this pass: PARTNERDESK_FUZZ_SEED={seed} PARTNERDESK_FUZZ_EXAMPLES={EXAMPLES} "
                                   f"PARTNERDESK_FUZZ_ALL_PASSES=1 "
                                   f".venv/bin/python -m pytest '{request.node.nodeid}'")
        pytest.fail(f"{run.report()}{repeat}", pytrace=False)


@pytest.mark.django_db(transaction=True)
def test_the_other_customer_check_sees_another_customers_data(client, users, tokens, customer_a, customer_b, operator,
                                                                smtp_server):
    """no_other_customers_data fails on an answer with B's data (the admin may see it), passes on the same
    request's answer to A's user (404), and does not count what the request itself sent."""
    from types import SimpleNamespace

    from partnerdesk.tests.fuzz_api import no_other_customers_data

    world = build_world(customer_a=customer_a, customer_b=customer_b, users=users, operator=operator)
    check = no_other_customers_data(world.foreign)

    def answer(who, url):
        resp = client.get(url, headers={"Authorization": f"Bearer {tokens[who]}"})
        return SimpleNamespace(status_code=resp.status_code, content=resp.content,
                               request=SimpleNamespace(url=url, body=None))

    for url in [f"/api/v1/customers/{customer_b.pk}", f"/api/v1/invoices?customer_id={customer_b.pk}"]:
        with pytest.raises(AssertionError, match="another customer's data"):
            check(None, answer("admin", url), None)
        check(None, answer("customer_a", url), None)
    # An answer that repeats what the request sent leaks nothing.
    echo = SimpleNamespace(status_code=422, content=json.dumps({"detail": f"{customer_b.name}?"}).encode(),
                           request=SimpleNamespace(url="/api/v1/tokens", body=json.dumps({"name": customer_b.name})))
    check(None, echo, None)
