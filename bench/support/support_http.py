"""The benchmark's HTTP side: timed requests against a live PartnerDesk server, as an agent's client makes them
(a new connection per request, a personal API token)."""

import http.client
import json
import time
from urllib.parse import quote, urlsplit

QUEUES = ["mine", "unassigned", "breaching_soon", "breached", "waiting_customer"]
WARM_UP = 5


class Client:
    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port

    def get(self, path: str, token: str) -> tuple[float, int, bytes]:
        """(seconds, status, body) of one GET, timed from connecting to the last byte of the answer."""
        started = time.perf_counter()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        return time.perf_counter() - started, response.status, body


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def requests_plan(plan: dict) -> dict[str, list[tuple[str, str]]]:
    """For each kind of request, the (path, token) of every request: several agents, words, numbers and cases."""
    agents, admin = plan["agent_tokens"], plan["admin_token"]
    kinds = {"floor: GET /me (auth, no data)": [("/api/v1/me", admin)]}
    kinds["queue mine"] = [("/api/v1/cases?queue=mine", t) for t in agents]
    for queue in QUEUES[1:]:
        kinds[f"queue {queue}"] = [(f"/api/v1/cases?queue={queue}", agents[0])]
    kinds["search a Chinese word"] = [(f"/api/v1/cases/search?q={quote(w)}", agents[0]) for w in plan["search_words"]]
    kinds["search an invoice number"] = [(f"/api/v1/cases/search?q={quote(n)}", agents[0]) for n in plan["invoices"]]
    kinds["case with its messages"] = [(f"/api/v1/cases/{pk}", agents[0]) for pk in plan["case_ids"]]
    return kinds


def run(base_url: str, plan: dict, n: int) -> dict[str, dict]:
    """p50/p95/max (seconds) and the rows returned, per kind of request, over n requests each."""
    client, out = Client(base_url), {}
    for kind, calls in requests_plan(plan).items():
        for i in range(WARM_UP):
            client.get(*calls[i % len(calls)])
        times, rows = [], 0
        for i in range(n):
            seconds, status, body = client.get(*calls[i % len(calls)])
            if status != 200:
                raise RuntimeError(f"{kind}: {calls[i % len(calls)][0]} answered {status}: {body[:500]!r}")
            times.append(seconds)
            rows += _rows(json.loads(body))
        out[kind] = {"n": n, "p50": percentile(times, 50), "p95": percentile(times, 95), "max": max(times),
                     "rows_per_request": rows / n}
    return out


def _rows(data) -> int:
    if isinstance(data, dict) and "items" in data:
        return len(data["items"])
    if isinstance(data, dict) and "messages" in data:
        return len(data["messages"])
    return 1


def wait_until_up(base_url: str, token: str, seconds: float = 60) -> None:
    client, deadline = Client(base_url), time.monotonic() + seconds
    while True:
        try:
            if client.get("/api/v1/me", token)[1] == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server at {base_url} did not answer within {seconds}s")
        time.sleep(0.2)
