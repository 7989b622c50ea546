"""`make demo`'s command, as a fresh machine runs it: a new database in var/ gets the demo data, and the operator
simulator's state file matches it."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_demo(var_dir: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(PARTNERDESK_MODE="demo", PARTNERDESK_VAR_DIR=str(var_dir), PARTNERDESK_DEMO_PASSWORD="demo-test-pw")
    done = subprocess.run([sys.executable, "manage.py", "demo", "--no-server", "--simulator-port", str(free_port())],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def simulated_subscriptions(var_dir: Path) -> int:
    customers = json.loads((var_dir / "simulator.json").read_text(encoding="utf-8"))["customers"]
    return sum(len(subscriptions) for subscriptions in customers.values())


def test_the_demo_sets_up_a_new_database_and_a_matching_operator(tmp_path):
    first = run_demo(tmp_path)
    assert "Loading demo data (first run)" in first and "demo-test-pw" in first and "portal" in first
    subscriptions = simulated_subscriptions(tmp_path)
    assert subscriptions > 10
    import sqlite3

    with sqlite3.connect(tmp_path / "partnerdesk.sqlite3") as db:  # the desk has cases in several states
        states = {row[0] for row in db.execute("SELECT status FROM support_case")}
    assert {"new", "waiting_customer", "resolved"} <= states, states
    again = run_demo(tmp_path)  # a second start keeps the data
    assert "Loading demo data" not in again and simulated_subscriptions(tmp_path) == subscriptions
    (tmp_path / "partnerdesk.sqlite3").unlink()  # a new database next to an old simulator state
    assert "Loading demo data (first run)" in run_demo(tmp_path)
    assert simulated_subscriptions(tmp_path) == subscriptions  # not twice as many
