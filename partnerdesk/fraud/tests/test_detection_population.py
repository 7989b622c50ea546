"""The Must show of issue 16: on a generated population, the planted fraud is flagged (recall 100%) and fewer
than 1% of a clean population of 10,000 customers alert. Precision and recall are printed (pytest -s)."""

import datetime as dt
import time

import pytest

from partnerdesk.fraud import population
from partnerdesk.fraud.detection import compute_hits

AS_OF = dt.date(2026, 11, 23)


def _report(name, pop, hits, seconds):
    alerted = {h.customer_id for h in hits}
    planted = set(pop.planted)
    caught = {c for c in planted if any(h.customer_id == c and h.signal == pop.planted[c] for h in hits)}
    true_alerts = alerted & planted
    precision = len(true_alerts) / len(alerted) if alerted else 1.0
    recall = len(caught) / len(planted) if planted else 1.0
    by_signal = {}
    for h in hits:
        by_signal[h.signal] = by_signal.get(h.signal, 0) + 1
    print(f"\n[{name}] {len(pop.customers):,} customers, {pop.usage_rows:,} usage lines (written in "
          f"{pop.seconds:.1f}s), detection {seconds:.1f}s: {len(alerted)} customers alerted "
          f"({100 * len(alerted) / len(pop.customers):.2f}%), hits by signal {by_signal}; planted {len(planted)}, "
          f"caught {len(caught)}: recall {recall:.3f}, precision {precision:.3f}")
    return alerted, caught, recall, precision


@pytest.mark.django_db(transaction=False)
def test_the_planted_fraud_is_flagged_and_the_normal_customers_mostly_are_not():
    pop = population.generate(customers=2000, as_of=AS_OF, days=70, meters=2, planted_per_kind=8, seed=7)
    assert len(pop.planted) == 40
    t = time.perf_counter()
    hits = compute_hits(AS_OF)
    alerted, caught, recall, precision = _report("planted", pop, hits, time.perf_counter() - t)
    missed = {c: k for c, k in pop.planted.items() if c not in caught}
    assert recall == 1.0, f"missed: {missed}"
    false_alarms = alerted - set(pop.planted)
    assert len(false_alarms) < 0.01 * (len(pop.customers) - len(pop.planted))
    assert precision >= 0.8


@pytest.mark.django_db(transaction=False)
def test_fewer_than_one_percent_of_a_clean_population_of_10000_alert():
    pop = population.generate(customers=10_000, as_of=AS_OF, days=63, meters=1, planted_per_kind=0, seed=11)
    assert pop.planted == {} and pop.usage_rows > 500_000
    t = time.perf_counter()
    hits = compute_hits(AS_OF)
    alerted, *_ = _report("clean", pop, hits, time.perf_counter() - t)
    assert len(alerted) < 100, sorted({(h.signal, h.customer_id) for h in hits})[:20]
