"""The collections lease: a run whose process died (SIGKILL, a lost host) does not block the next one, and shows
as interrupted; a run that finds the lease held by a live run says who holds it and exits 75."""

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from partnerdesk.dunning import engine, services
from partnerdesk.dunning.engine import HEARTBEAT_WINDOW, LOCK_NAME, claim_lock, holder_for, holder_is_gone
from partnerdesk.dunning.models import CollectionsAction, CollectionsRun, OperatorRequest, RunLock
from partnerdesk.dunning.tests.test_cycle import at
from partnerdesk.dunning.tests.test_exactly_once import (  # noqa: F401  (fixtures)
    AS_OF,
    ROOT,
    _subprocess_env,
    outcome,
    reference,
    wait_for_quiet,
    world,
)
from partnerdesk.web.tests.factories import client_for

BEIJING = ZoneInfo("Asia/Shanghai")
HAS_PROC = os.path.exists("/proc/self/stat")
OTHER_HOST = "other-host:4242:1234@0badcafe:a1b2c3d4"


def sleeper():
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def run_of(holder, seen=None):
    return CollectionsRun.objects.create(as_of=dt.date(2026, 11, 24), holder=holder, last_seen_at=seen or timezone.now())


# --- the takeover rule ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_lease_of_a_process_that_died_on_this_host_is_taken_over_at_once():
    child = sleeper()
    try:
        dead = holder_for(child.pid)
        assert claim_lock(dead)
        killed_run = run_of(dead, seen=timezone.now() - dt.timedelta(seconds=5))
        assert not claim_lock(holder_for(os.getpid()))  # alive: it keeps its lease
    finally:
        child.kill()
        child.wait()
    mine = holder_for(os.getpid())
    assert claim_lock(mine)
    assert RunLock.objects.get(name=LOCK_NAME).holder == mine
    killed_run.refresh_from_db()
    assert killed_run.status == "interrupted" and killed_run.finished_at is None
    assert killed_run.last_seen_at < timezone.now() - dt.timedelta(seconds=4)  # when it was last seen, kept


@pytest.mark.skipif(not HAS_PROC, reason="needs /proc")
def test_a_dead_process_is_recognised_while_a_zombie_and_after_its_pid_is_reused():
    child = sleeper()
    holder = holder_for(child.pid)
    assert not holder_is_gone(holder)
    child.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not holder_is_gone(holder):  # dead but not yet reaped by its parent (us)
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child.wait()
    assert holder_is_gone(holder)
    # Our own pid, with another start time: the holder was an earlier process given the same pid.
    host, pid, start, nonce = holder_for(os.getpid()).split(":")
    ticks, _, system = start.partition("@")
    assert not holder_is_gone(f"{host}:{pid}:{start}:{nonce}")
    assert holder_is_gone(f"{host}:{pid}:{int(ticks) - 1}@{system}:{nonce}")


def test_a_process_on_another_host_or_pid_namespace_is_left_to_its_heartbeat():
    host, pid, start, nonce = holder_for(os.getpid()).split(":")
    ticks = start.partition("@")[0]
    assert not holder_is_gone(OTHER_HOST)
    assert not holder_is_gone(f"{host}:999999999:{ticks}@0badcafe:{nonce}")  # same name, another container or boot
    assert not holder_is_gone("an-old-host:1234:abcd1234")  # a name from before start times


@pytest.mark.django_db
def test_a_lease_on_another_host_is_taken_over_once_its_heartbeat_stops():
    t0 = timezone.now()
    assert claim_lock(OTHER_HOST, now=t0)
    lost_run = run_of(OTHER_HOST, seen=t0)
    mine = holder_for(os.getpid())
    assert not claim_lock(mine, now=t0 + HEARTBEAT_WINDOW - dt.timedelta(seconds=1))
    lost_run.refresh_from_db()
    assert lost_run.status == "running"
    assert claim_lock(mine, now=t0 + HEARTBEAT_WINDOW + dt.timedelta(seconds=1))  # well before the lease expires
    lost_run.refresh_from_db()
    assert lost_run.status == "interrupted" and lost_run.last_seen_at == t0


@pytest.mark.django_db
def test_a_live_holder_keeps_the_lease_and_a_run_says_who_holds_it_since_when():
    t0 = timezone.now()
    assert claim_lock(OTHER_HOST, now=t0)
    result = engine.run_collections(dt.date(2026, 11, 24))
    assert (result.status, result.held_by, result.held_since) == ("busy", OTHER_HOST, t0)
    assert CollectionsRun.objects.count() == 0
    # A live process of this host too (this one, as another run of it).
    RunLock.objects.update(holder="")
    here = holder_for(os.getpid())
    assert claim_lock(here)
    assert not claim_lock(holder_for(os.getpid()))
    assert RunLock.objects.get().holder == here


@pytest.mark.django_db
def test_the_command_exits_75_naming_the_holder_and_when_it_took_the_lease():
    t0 = dt.datetime(2026, 11, 24, 1, 2, 3, tzinfo=dt.UTC)
    RunLock.objects.create(name=LOCK_NAME, holder=OTHER_HOST, taken_at=t0, renewed_at=timezone.now(),
                           expires_at=timezone.now() + engine.LOCK_TTL)
    with pytest.raises(CommandError) as refused:
        call_command("collections", "run", "--as-of", "2026-11-24")
    assert refused.value.returncode == 75
    assert f"lease held by {OTHER_HOST} since 2026-11-24 09:02:03 Beijing time" in str(refused.value)
    with pytest.raises(CommandError) as bad:
        call_command("collections", "run", "--as-of", "24/11/2026")
    assert bad.value.returncode == 2


@pytest.mark.django_db
def test_of_two_claimants_of_a_dead_holders_lease_one_wins(monkeypatch):
    first, second = holder_for(os.getpid()), holder_for(os.getpid())
    dead = "this-host:1:1@x:dead0000"
    RunLock.objects.create(name=LOCK_NAME, holder=dead, taken_at=timezone.now(), renewed_at=timezone.now(),
                           expires_at=timezone.now() + engine.LOCK_TTL)
    won = {}

    def gone(holder):
        # The second claimant found the holder gone; before its UPDATE, the first claims the lease.
        if holder == dead and "first" not in won:
            won["first"] = None
            won["first"] = claim_lock(first)
        return holder == dead

    monkeypatch.setattr(engine, "holder_is_gone", gone)
    won["second"] = claim_lock(second)
    assert won == {"first": True, "second": False}
    assert RunLock.objects.get().holder == first


@pytest.mark.django_db
def test_each_renewal_is_a_heartbeat_on_the_lease_and_the_run():
    t0 = timezone.now() - dt.timedelta(minutes=1)
    mine = holder_for(os.getpid())
    assert claim_lock(mine, now=t0)
    run = run_of(mine, seen=t0)
    engine.renew_lock(mine)
    lock = RunLock.objects.get()
    run.refresh_from_db()
    assert lock.renewed_at > t0 and lock.taken_at == t0 and run.last_seen_at == lock.renewed_at
    RunLock.objects.update(holder=OTHER_HOST)
    with pytest.raises(engine.LostLock):
        engine.renew_lock(mine)


@pytest.mark.django_db
def test_listing_runs_marks_those_whose_holder_is_gone_interrupted():
    now = timezone.now()
    child = sleeper()
    dead = holder_for(child.pid)
    child.kill()
    child.wait()
    live = holder_for(os.getpid())
    assert claim_lock(live, now=now)
    runs = {
        "live lease holder": run_of(live, seen=now - dt.timedelta(minutes=1)),
        "died on this host": run_of(dead, seen=now),
        "silent on another host": run_of(OTHER_HOST, seen=now - HEARTBEAT_WINDOW - dt.timedelta(seconds=1)),
        "just started elsewhere": run_of("elsewhere:7:1@abc:1234abcd", seen=now),
        "from before heartbeats": CollectionsRun.objects.create(as_of=dt.date(2026, 11, 1)),
    }
    assert engine.mark_interrupted_runs(now=now) == 3
    status = {name: CollectionsRun.objects.get(pk=run.pk).status for name, run in runs.items()}
    assert status == {"live lease holder": "running", "died on this host": "interrupted",
                      "silent on another host": "interrupted", "just started elsewhere": "running",
                      "from before heartbeats": "interrupted"}
    # The lease holder's heartbeat stops too (a hung process): its run is interrupted as well.
    silent_since = now - HEARTBEAT_WINDOW - dt.timedelta(seconds=1)
    RunLock.objects.update(renewed_at=silent_since)
    CollectionsRun.objects.filter(holder=live).update(last_seen_at=silent_since)
    assert engine.mark_interrupted_runs(now=now) == 1
    assert CollectionsRun.objects.get(pk=runs["live lease holder"].pk).status == "interrupted"


@pytest.mark.django_db
def test_the_runs_page_shows_a_dead_run_as_interrupted_and_when_it_was_last_seen(users):
    child = sleeper()
    dead = holder_for(child.pid)
    child.kill()
    child.wait()
    seen = timezone.now() - dt.timedelta(seconds=5)  # a fresh heartbeat: its process is known dead at once
    run_of(dead, seen=seen)
    body = client_for(users["collections"], language="zh-hans").get(reverse("collections_runs")).content.decode()
    assert "已中断" in body and f"最后活动于 {seen.astimezone(BEIJING):%Y-%m-%d %H:%M:%S}" in body
    assert CollectionsRun.objects.get().status == "interrupted"


# --- a real process, killed -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_run_killed_with_sigkill_is_taken_over_at_once_by_the_next(world, reference, operator, smtp_server,  # noqa: F811
                                                                     tmp_path):
    """`partnerdesk collections run` paused after its first batch: another run meanwhile exits 75 naming it; once it
    is killed, the next run does the rest at once, and the killed run shows as interrupted."""
    env = dict(_subprocess_env(operator, smtp_server), PARTNERDESK_TEST_RUN_BATCH_SIZE="2")
    cmd = [sys.executable, "-m", "partnerdesk.cli", "collections", "run", "--as-of", AS_OF]
    with open(tmp_path / "killed.err", "w") as err:
        killed = subprocess.Popen(cmd, cwd=ROOT, env=dict(env, PARTNERDESK_TEST_RUN_PAUSE="120"), stdout=subprocess.PIPE,
                                  stderr=err, text=True)
    try:
        paused = killed.stdout.readline()
        assert "paused after the first batch" in paused, (tmp_path / "killed.err").read_text()[-2000:]
        lock = RunLock.objects.get(name=LOCK_NAME)
        assert lock.holder.startswith(f"{socket.gethostname()}:{killed.pid}:")

        blocked = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert blocked.returncode == 75, blocked.stderr[-2000:]
        since = lock.taken_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        assert f"lease held by {lock.holder} since {since} Beijing time" in blocked.stderr
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
        killed.stdout.close()
    done_before = CollectionsAction.objects.count()
    assert done_before > 0

    started = time.monotonic()
    rest = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert rest.returncode == 0, rest.stderr[-2000:]
    assert time.monotonic() - started < 60  # not the lease's ten minutes
    assert "collections finished" in rest.stdout
    assert CollectionsAction.objects.count() > done_before

    dead_run = CollectionsRun.objects.get(holder=lock.holder)
    assert dead_run.status == "interrupted" and dead_run.last_seen_at is not None and dead_run.finished_at is None
    assert CollectionsRun.objects.exclude(pk=dead_run.pk).filter(status="running").count() == 0
    assert RunLock.objects.get(name=LOCK_NAME).holder == ""

    with at(AS_OF, hour=10):
        OperatorRequest.objects.filter(status="pending").update(next_attempt_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        services.process_operator_requests()
    wait_for_quiet(smtp_server)
    assert outcome(smtp_server, operator) == reference


def test_the_api_answers_409_naming_the_holder_and_lists_a_dead_run_as_interrupted(api_client, tokens):
    t0 = dt.datetime(2026, 11, 24, 1, 2, 3, tzinfo=dt.UTC)
    RunLock.objects.create(name=LOCK_NAME, holder=OTHER_HOST, taken_at=t0, renewed_at=timezone.now(),
                           expires_at=timezone.now() + engine.LOCK_TTL)
    staff = api_client.as_(tokens["collections"])
    resp = staff.post("/collections/runs", {"as_of": "2026-11-24"})
    assert resp.status_code == 409 and resp.json()["code"] == "run_in_progress"
    assert f"held by {OTHER_HOST} since 2026-11-24 09:02:03" in resp.json()["detail"]
    assert CollectionsRun.objects.count() == 0
    seen = timezone.now() - HEARTBEAT_WINDOW - dt.timedelta(seconds=5)
    dead = run_of("elsewhere:7:1@abc:1234abcd", seen=seen)
    listed = staff.get("/collections/runs").json()["items"]
    assert [(r["id"], r["status"]) for r in listed] == [(dead.pk, "interrupted")]
    assert listed[0]["last_seen_at"] and listed[0]["finished_at"] is None
