"""Benchmark: tick to order over the real processes — simexchange → feed → Redis → engine → ccxt → simexchange.

Measures, with simexchange's opt-in trace (CLOCK_REALTIME on one host), the time from a bookTicker being written
to the feed's websocket to the replace it causes (cancel, then the new order) arriving back at the exchange, with 1
and with 100 chases (reprice_throttle_ms 100, the exchange's limits lifted so the path is measured, not the order
budget); then a soak of 100 chases (default throttle 500 ms) under Binance's limits, counting -1015/-1003/429
answers and reporting why chases ended (risk breaches, refused orders). The engine runs under
bench/tick_to_order_probe.py, which timestamps each hop of the replace path. Each phase has its own scratch
database and processes, and the whole benchmark stops by itself.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/tick_to_order.py [--chases 1,100] [--latency-seconds 60] [--soak-seconds 600] \\
        [--soak-chases 100] [--logs DIR] [--profile] [--name tick_to_order]

Latency is reported twice: from the first quote that made the new price the chase's target (`_first_ms`) and from
the latest such quote before the cancel arrived (`quote_to_new_order_ms`); `engine_hops_ms` splits the latter.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pms_site.settings")
os.environ.setdefault("PMS_TEST_DATABASE", "bench_tick_to_order")  # scratch_database drops it: never a shared name
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/5")

import django

django.setup()

import orjson  # noqa: E402
import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.test.utils import teardown_test_environment  # noqa: E402

from algos.services import algo_start, algo_stop  # noqa: E402
from bench.scratch import report, scratch_database  # noqa: E402
from bench.tick_to_order_match import (  # noqa: E402
    ChaseSpec,
    RedisSeen,
    durations,
    engine_hops,
    latency_figures,
    match_replaces,
    quotes_from_trace,
    replaces_from_trace,
)
from risk.models import BreachRecord  # noqa: E402
from tests.system.harness import free_port, test_database_url, wait_until  # noqa: E402
from trading.management.commands.seed_demo import DEMO_INSTRUMENTS  # noqa: E402
from trading.models import AlgoRun, Instrument, Order, SubAccount  # noqa: E402
from trading.services import subaccount_deposit, subaccount_house  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
API_KEY, SECRET = "t2o-bench-key", "t2o-bench-secret"
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
# Far enough from the touch that a chase does not fill (ticks); every touch move still reprices it.
OFFSET_TICKS = {"BTCUSDT": 800, "ETHUSDT": 800, "SOLUSDT": 80}
QUANTITY = {"BTCUSDT": "0.002", "ETHUSDT": "0.010", "SOLUSDT": "1"}
SUB_ACCOUNTS = ("t2o-a", "t2o-b", "t2o-c", "t2o-d", "t2o-e")
UNLIMITED = ("--orders-per-10s", "1000000", "--orders-per-minute", "1000000", "--weight-per-minute", "10000000")
TERMINAL = (AlgoRun.Status.COMPLETED, AlgoRun.Status.CANCELLED, AlgoRun.Status.FAILED)


class QuoteListener(threading.Thread):
    """The benchmark's own subscriber to the feed's quotes channel: when each (symbol, bid, ask) went by."""

    def __init__(self, url: str, channel: str = "pms:md:quotes") -> None:
        super().__init__(daemon=True, name="t2o-redis-listener")
        self.client = redis.Redis.from_url(url)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel)
        self.seen: list[tuple[str, Decimal, Decimal, int]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            message = self.pubsub.get_message(timeout=0.2)
            if message is None:
                continue
            ns = time.time_ns()
            for event in orjson.loads(message["data"]):
                if event.get("e") == "q":
                    self.seen.append((event["s"], Decimal(event["b"]), Decimal(event["a"]), ns))

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)
        self.pubsub.close()
        self.client.close()


class Desk:
    """simexchange, feed and engine as subprocesses against the current (scratch) database."""

    def __init__(self, workdir: Path, *, limits: tuple[str, ...], speed: str, seed: int, probe: bool) -> None:
        self.workdir, self.limits, self.speed, self.seed, self.probe = workdir, limits, speed, seed, probe
        self.probe_out = workdir / "probe.json"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.sim_url = ""
        self.engine_pid = 0

    def start(self) -> None:
        sim = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "simexchange", "--port", "0", "--symbols", ",".join(SYMBOLS), "--source",
             "synthetic", "--speed", self.speed, "--seed", str(self.seed), "--api-key", API_KEY, "--secret", SECRET,
             "--balance", "100000000", "--trace", *self.limits],
            cwd=REPO, stdout=subprocess.PIPE, stderr=(self.workdir / "sim.log").open("wb"))
        self.processes.append(sim)
        assert sim.stdout is not None
        config = orjson.loads(sim.stdout.readline())
        self.sim_url = config["urls"]["api"]["fapiPublic"].rsplit("/fapi", 1)[0]
        env = dict(os.environ)
        env.update({"DATABASE_URL": test_database_url(), "REDIS_URL": settings.REDIS_URL,
                    "PMS_SIMEXCHANGE_URL": self.sim_url, "PMS_EXCHANGE_API_KEY": API_KEY,
                    "PMS_EXCHANGE_API_SECRET": SECRET, "PMS_VENUE": "simulated",
                    "PMS_EXCHANGE_ACCOUNT": f"t2o-{uuid.uuid4().hex[:8]}", "PMS_LOG_FORMAT": "plain",
                    "PMS_LOG_LEVEL": "INFO"})
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env.pop("PMS_TEST_DATABASE", None)
        self._spawn(["manage.py", "run_feed"], env, "feed.log")
        entry = ["bench/tick_to_order_probe.py", str(self.probe_out)] if self.probe else ["manage.py"]
        engine = self._spawn([*entry, "run_engine", "--metrics-port", str(free_port())], env, "engine.log")
        self.engine_pid = engine.pid
        log = self.workdir / "engine.log"
        wait_until(lambda: b"engine ready" in log.read_bytes() or engine.poll() is not None, 60, "the engine")
        if engine.poll() is not None:
            raise RuntimeError("the engine exited:\n" + log.read_text(errors="replace")[-3000:])

    def _spawn(self, args: list[str], env: dict[str, str], log: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, *args], cwd=REPO, env=env,  # noqa: S603 - manage.py
                                   stdout=(self.workdir / log).open("wb"), stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=60)  # a saturated engine takes a while to drain
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self.processes.clear()

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = orjson.dumps(body) if body is not None else None
        request = urllib.request.Request(self.sim_url + path, data=data, method="POST" if data else "GET",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return orjson.loads(response.read())

    def mid(self, symbol: str) -> Decimal:
        book = self.control(f"/fapi/v1/ticker/bookTicker?symbol={symbol}")
        return (Decimal(book["bidPrice"]) + Decimal(book["askPrice"])) / 2


def seed_desk() -> list[int]:
    for spec in DEMO_INSTRUMENTS:
        Instrument.objects.update_or_create(symbol=spec["symbol"], defaults=spec)
    subaccount_house()
    ids = []
    for name in SUB_ACCOUNTS:
        sub = SubAccount.objects.create(name=name)
        subaccount_deposit(sub_account_id=sub.pk, amount=Decimal(10_000_000), actor="bench")
        ids.append(sub.pk)
    return ids


def start_chases(desk: Desk, count: int, throttle_ms: int, sub_ids: list[int]) -> dict[int, ChaseSpec]:
    """`count` chases spread over the symbols, both sides and the sub-accounts; returns them by AlgoRun id."""
    ticks = {i.symbol: i.tick_size for i in Instrument.objects.all()}
    mids = {symbol: desk.mid(symbol) for symbol in SYMBOLS}
    specs = {}
    for index in range(count):
        symbol = SYMBOLS[index % len(SYMBOLS)]
        side = "buy" if (index // len(SYMBOLS)) % 2 == 0 else "sell"
        offset = OFFSET_TICKS[symbol] + index // 6  # a few ticks apart so chases are not all one price
        run = algo_start(kind="chase", sub_account_id=sub_ids[index % len(sub_ids)], actor="bench",
                         reference_price=mids[symbol],
                         params={"symbol": symbol, "side": side, "quantity": QUANTITY[symbol],
                                 "offset_ticks": offset, "reprice_throttle_ms": throttle_ms,
                                 "stalk_mode": "maintain", "max_distance_pct": "50"})
        specs[run.pk] = ChaseSpec(run.pk, symbol, side, offset, ticks[symbol])
    started = time.monotonic()
    wait_until(lambda: not AlgoRun.objects.filter(pk__in=specs, status=AlgoRun.Status.PENDING).exists(), 300,
               f"the engine to take up {count} chases")
    running = AlgoRun.objects.filter(pk__in=specs, status=AlgoRun.Status.RUNNING).count()
    print(f"    {running} of {count} chases running after {time.monotonic() - started:.1f} s", flush=True)
    return specs


def stop_chases(specs: dict[int, ChaseSpec], timeout_s: float = 180) -> dict[str, Any]:
    started_at = AlgoRun.objects.filter(pk__in=specs).order_by("created_at").values_list(
        "created_at", flat=True).first()
    """Stop every chase still running (through the engine's command path, as an operator would)."""
    ended_runs = AlgoRun.objects.filter(pk__in=specs, status__in=TERMINAL)
    ended = ended_runs.count()
    outcomes = Counter(str((run.result or {}).get("outcome", run.result))[:120] for run in ended_runs)
    started = time.monotonic()
    for run_id in AlgoRun.objects.filter(pk__in=specs).exclude(status__in=TERMINAL).values_list("pk", flat=True):
        algo_stop(algo_run_id=run_id, actor="bench")
    with contextlib.suppress(AssertionError):  # an engine too slow to stop them all is a figure, not a crash
        wait_until(lambda: not AlgoRun.objects.filter(pk__in=specs).exclude(status__in=TERMINAL).exists(),
                   timeout_s, "the chases to stop")
    left = AlgoRun.objects.filter(pk__in=specs).exclude(status__in=TERMINAL).count()
    breaches = Counter(re.sub(r"\d+", "<n>", f"{b.kind} on {b.scope_kind}: {b.detail}")[:160]
                       for b in BreachRecord.objects.all())
    last_breach = BreachRecord.objects.order_by("-created_at").values_list("created_at", flat=True).first()
    return {"chases_ended_by_themselves": ended, "ended_outcomes": dict(outcomes), "chases_not_stopped": left,
            "stop_all_seconds": round(time.monotonic() - started, 1),
            "risk_breaches": dict(breaches.most_common(10)), "risk_breach_count": sum(breaches.values()),
            "last_risk_breach_s_after_chases_started": None if last_breach is None or started_at is None
            else round((last_breach - started_at).total_seconds(), 1)}


@contextlib.contextmanager
def running_desk(workdir: Path, **options: Any) -> Iterator[Desk]:
    desk = Desk(workdir, **options)
    try:
        desk.start()
        yield desk
    finally:
        desk.stop()


def profile_engine(pid: int, seconds: int, name: str) -> subprocess.Popen[bytes] | None:
    """py-spy on the engine while the phase runs (when installed): collapsed stacks beside the JSON."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        print("py-spy not installed: no profile")
        return None
    out = Path(__file__).resolve().parent / "results" / f"{name}.stacks.txt"
    out.parent.mkdir(exist_ok=True)
    return subprocess.Popen([py_spy, "record",  # noqa: S603 - the venv's py-spy
                             "--pid", str(pid), "--duration", str(seconds), "--rate", "200",
                             "--format", "raw", "--output", str(out), "--nonblocking"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def run_phase(name: str, *, chases: int, throttle_ms: int, seconds: int, limits: tuple[str, ...],
              args: argparse.Namespace) -> dict[str, Any]:
    print(f"--- {name}: {chases} chases, throttle {throttle_ms} ms, {seconds} s", flush=True)
    logs = Path(args.logs) / name if args.logs else None
    with scratch_database(), tempfile.TemporaryDirectory(prefix="t2o-") as tmp:
        sub_ids = seed_desk()
        with running_desk(Path(tmp), limits=limits, speed=args.speed, seed=args.seed, probe=args.probe) as desk:
            specs = start_chases(desk, chases, throttle_ms, sub_ids)
            time.sleep(args.warmup_seconds)
            listener = QuoteListener(settings.REDIS_URL)
            listener.start()
            desk.control("/_sim/trace", {"enabled": True, "clear": True})
            load_before = os.getloadavg()
            profiler = profile_engine(desk.engine_pid, seconds, f"tick_to_order_{name}") if args.profile else None
            _sleep_with_progress(seconds)
            trace = desk.control("/_sim/trace")
            desk.control("/_sim/trace", {"enabled": False})
            state = desk.control("/_sim/state")
            load_after = os.getloadavg()
            listener.stop()
            stopping = stop_chases(specs)
            if profiler is not None:
                profiler.wait(timeout=60)
        run_of = dict(Order.objects.filter(algo_run_id__in=specs).values_list("client_order_id", "algo_run_id"))
        reasons = Order.objects.filter(algo_run_id__in=specs).exclude(reject_reason="").values_list(
            "reject_reason", flat=True)
        rejected = Counter(re.sub(r"\d{6,}", "<n>", reason)[:100] for reason in reasons)
        stopping["orders_rejected"] = sum(rejected.values())
        stopping["reject_reasons"] = dict(rejected.most_common(5))
        probe = orjson.loads(desk.probe_out.read_bytes()) if desk.probe_out.exists() else None
        if logs is not None:
            shutil.copytree(tmp, logs, dirs_exist_ok=True)
            (logs / "trace.json").write_bytes(orjson.dumps({"trace": trace, "run_of": run_of,
                                                            "specs": {str(k): str(v) for k, v in specs.items()}}))
    teardown_test_environment()  # scratch_database sets it up again for the next phase
    figures = _figures(trace, state, listener, specs, run_of, seconds=seconds, throttle_ms=throttle_ms,
                       stopping=stopping, load=(load_before, load_after), probe=probe)
    _summary(name, figures)
    return figures


def _summary(name: str, figures: dict[str, Any]) -> None:
    headline = figures["quote_to_new_order_ms"]
    print(f"    {name}: {figures['matched']} replaces matched; quote -> new order p50 {headline.get('p50')} ms, "
          f"p99 {headline.get('p99')} ms, max {headline.get('max')} ms; -1015: {figures['rejections_1015']}",
          flush=True)
    for hop, stats in figures.get("engine_hops_ms", {}).items():
        if isinstance(stats, dict):
            print(f"      {hop:<34} p50 {stats.get('p50')} p90 {stats.get('p90')} p99 {stats.get('p99')}", flush=True)
        else:
            print(f"      {hop:<34} {stats}", flush=True)


def _sleep_with_progress(seconds: int) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(30.0, left))
        if left > 30:
            print(f"    {int(deadline - time.monotonic())} s left", flush=True)


def _figures(trace: dict[str, Any], state: dict[str, Any], listener: QuoteListener, specs: dict[int, ChaseSpec],
             run_of: dict[str, int], *, seconds: int, throttle_ms: int, stopping: dict[str, Any],
             load: tuple[tuple[float, float, float], tuple[float, float, float]],
             probe: dict[str, Any] | None) -> dict[str, Any]:
    quotes = quotes_from_trace(trace["quotes"])
    replaces, placements = replaces_from_trace(trace["requests"], run_of)
    matched, unmatched = match_replaces(replaces, specs, quotes, RedisSeen(listener.seen))
    errors = trace["error_answers"]
    requests = trace["requests"]
    figures = {
        "chases": len(specs),
        "reprice_throttle_ms": throttle_ms,
        "seconds": seconds,
        "quotes_sent": sum(len(rows) for rows in quotes.values()),
        "order_requests": sum(1 for r in requests if r["method"] == "POST"),
        "cancel_requests": sum(1 for r in requests if r["method"] == "DELETE"),
        "replaces": len(replaces),
        "replaces_per_s": round(len(replaces) / seconds, 1),
        "matched": len(matched),
        "unmatched": unmatched,
        "placements_without_cancel": placements,
        **latency_figures(matched),
        "rejections_1015": sum(n for key, n in errors.items() if key.endswith("/-1015")),
        "rejections_1003": sum(n for key, n in errors.items() if key.endswith("/-1003")),
        "http_429": sum(n for key, n in errors.items() if key.startswith("429/")),
        "error_answers": errors,
        **stopping,
        "simexchange_bugs": state.get("bugs"),
        "loadavg_before_after": [list(load[0]), list(load[1])],
    }
    if probe is not None:
        figures["engine_hops_ms"] = engine_hops(matched, specs, probe["events"])
        figures["engine_call_durations_ms"] = durations(probe["durations_ns"])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chases", default="1,100", help="chase counts of the latency phases (comma-separated)")
    parser.add_argument("--latency-seconds", type=int, default=60)
    parser.add_argument("--soak-seconds", type=int, default=600, help="0 skips the soak")
    parser.add_argument("--soak-chases", type=int, default=100)
    parser.add_argument("--warmup-seconds", type=float, default=3.0)
    parser.add_argument("--speed", default="1", help="simexchange --speed (N: prices move N times faster)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="py-spy the engine during each phase")
    parser.add_argument("--logs", help="keep each phase's process logs under this directory")
    parser.add_argument("--no-probe", dest="probe", action="store_false",
                        help="run the engine as plain manage.py (no per-hop timestamps)")
    parser.add_argument("--name", default="tick_to_order", help="results file name (bench/results/NAME.json)")
    args = parser.parse_args()
    figures: dict[str, Any] = {"command": " ".join(sys.argv), "cpus": os.cpu_count()}
    for count in (int(c) for c in args.chases.split(",") if c.strip()):
        # The exchange's limits are lifted here: this phase measures the path, not the account's order budget.
        figures[f"latency_{count}_chases"] = run_phase(f"latency_{count}", chases=count, throttle_ms=100,
                                                       seconds=args.latency_seconds, limits=UNLIMITED, args=args)
    if args.soak_seconds > 0:
        figures[f"soak_{args.soak_chases}_chases"] = run_phase(
            "soak", chases=args.soak_chases, throttle_ms=500, seconds=args.soak_seconds, limits=(), args=args)
    report(args.name, figures)


if __name__ == "__main__":
    main()
