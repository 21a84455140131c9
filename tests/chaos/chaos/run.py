"""tools/chaos: drives a chaos run and prints its tables. See tests/chaos/README.md."""

import argparse
import faulthandler
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pika
import psycopg2

from . import checks, plan
from .cluster import PARTICIPANTS, Cluster
from .schedule import make_schedule, span

DEAD_LETTERS = "dead-letters"


def log(text):
    print(time.strftime("%H:%M:%S ") + text, flush=True)


class Store:
    """Reads the sagas' statuses from PostgreSQL, reconnecting across its restart."""

    def __init__(self, dsn):
        self.dsn, self.conn = dsn, None

    def query(self, sql, args=()):
        while True:
            try:
                if self.conn is None:
                    self.conn = psycopg2.connect(self.dsn, connect_timeout=3)
                    self.conn.autocommit = True
                with self.conn.cursor() as cur:
                    cur.execute(sql, args)
                    return cur.fetchall()
            except psycopg2.Error:
                if self.conn is not None:
                    try:
                        self.conn.close()
                    except psycopg2.Error:
                        pass
                self.conn = None
                time.sleep(0.5)


class Publisher:
    """Publishes outside events as their systems would (docs/protocol.md 8): mandatory, confirmed,
    persistent, with a stable message id; retried across a broker outage until confirmed."""

    def __init__(self, url, prefix):
        self.params = pika.URLParameters(url)
        self.params.socket_timeout = 3
        self.params.blocked_connection_timeout = 5
        self.exchange = f"{prefix}.events"
        self.connection = self.channel = None
        self.lock = threading.Lock()

    def publish(self, event, stop):
        props = pika.BasicProperties(message_id=event.message_id, type=event.type,
                                     content_type="application/json", delivery_mode=2,
                                     headers={"sagaflow-kind": "event", "attempt": 0})
        body = json.dumps(event.body).encode()
        with self.lock:
            while not stop.is_set():
                try:
                    if self.channel is None:
                        self.connection = pika.BlockingConnection(self.params)
                        self.channel = self.connection.channel()
                        self.channel.confirm_delivery()
                    self.channel.basic_publish(self.exchange, event.type, body, props,
                                               mandatory=True)
                    return True
                except Exception:  # noqa: BLE001 - any failure: reconnect and send again
                    self.close()
                    time.sleep(1)
        return False

    def close(self):
        try:
            if self.connection is not None and self.connection.is_open:
                self.connection.close()
        except Exception:  # noqa: BLE001
            pass
        self.connection = self.channel = None

    def drain_dead_letters(self, queue_name):
        """Takes every message out of the dead letters' queue: [(message_id, reason)]."""
        out = []
        connection = pika.BlockingConnection(self.params)
        channel = connection.channel()
        while True:
            method, props, _ = channel.basic_get(queue_name, auto_ack=True)
            if method is None:
                break
            headers = props.headers or {}
            reason = headers.get("x-sagaflow-reason", b"")
            reason = reason.decode() if isinstance(reason, bytes) else str(reason)
            if not reason and "x-death" in headers:
                reason = "broker: " + str(headers["x-death"][0].get("reason", b""))
            out.append((props.message_id or "", reason))
        connection.close()
        return out


def post_json(url, body, timeout=15):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def get_json(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return json.loads(answer.read())


class Run:
    def __init__(self, args, cluster, sagas):
        self.args, self.cluster, self.sagas = args, cluster, sagas
        self.stop = threading.Event()
        self.store = Store(cluster.pg_dsn)
        self.local = threading.local()
        self.publishers = []
        self.published = set()
        self.started_at = {}  # key -> epoch seconds the start was accepted
        self.problems = []  # what the harness itself could not do: deviations too
        self.harness_failed = threading.Event()
        self.pending = queue.Queue()  # sagas whose events or follow-up are still to do
        self.lock = threading.Lock()
        self.next_daemon = 0
        self.down = None  # the process a fault has down on purpose
        self.never_started = set()  # cancellations of orders that were not paid

    def publish(self, event):
        """Publishes on this thread's own connection, so that one waiting out the broker's
        outage holds up no other thread; true once confirmed."""
        if not hasattr(self.local, "publisher"):
            self.local.publisher = Publisher(self.cluster.amqp_url, self.args.prefix)
            with self.lock:
                self.publishers.append(self.local.publisher)
        if not self.local.publisher.publish(event, self.stop):
            return False
        with self.lock:
            self.published.add(event.message_id)
        return True

    # --- starting sagas ----------------------------------------------------------------------
    def start_saga(self, saga, input_):
        """POST /api/sagas, retried with the same idempotency key on another orchestrator until
        one accepts it: a start is never lost nor doubled."""
        body = {"flow": saga.flow, "input": input_, "idempotency_key": saga.key}
        with self.lock:
            first = self.next_daemon
            self.next_daemon += 1
        attempt = 0
        while not self.stop.is_set():
            url = self.cluster.admin[(first + attempt) % len(self.cluster.admin)]
            attempt += 1
            try:
                status, answer = post_json(url + "/api/sagas", body)
            except OSError:
                time.sleep(0.5)
                continue
            if status in (200, 201):
                self.started_at.setdefault(saga.key, time.time())
                return True
            if status != 503:
                self.problems.append(f"start of {saga.key} refused: {status} {answer}")
                return False
            time.sleep(0.5)
        return False

    def starter(self, work, all_queued):
        while not self.stop.is_set():
            try:
                saga = work.get(timeout=0.2)
            except queue.Empty:
                if all_queued.is_set():
                    return
                continue
            if saga.start_event is not None:
                if self.publish(saga.start_event):
                    self.started_at.setdefault(saga.key, time.time())
                    self.pending.put(saga)
                continue
            first = saga.needs_paid_order or saga
            if self.start_saga(first, first.input):
                if saga.needs_paid_order is not None or saga.events:
                    self.pending.put(saga)

    def load(self, duration):
        """Starts every saga, paced evenly over `duration` seconds, from a few threads."""
        work, all_queued = queue.Queue(), threading.Event()
        threads = [threading.Thread(target=self.starter, args=(work, all_queued), daemon=True)
                   for _ in range(self.args.start_threads)]
        for t in threads:
            t.start()
        begin = time.time()
        for n, saga in enumerate(self.sagas):
            work.put(saga)
            wait = begin + duration * (n + 1) / len(self.sagas) - time.time()
            if wait > 0 and self.stop.wait(wait):
                return
            while work.qsize() > 50 and not self.stop.is_set():
                time.sleep(0.05)
        all_queued.set()
        for t in threads:
            t.join()

    # --- what sagas need once they wait: outside events, the cancellation of a paid order ----
    def ids(self):
        return {k: (i, st) for k, i, st in self.store.query("SELECT idempotency_key, id, status FROM sagas")}

    def follow_up(self):
        waiting = {}
        while not self.stop.is_set():
            while True:
                try:
                    saga = self.pending.get_nowait()
                    waiting[saga.key] = saga
                except queue.Empty:
                    break
            if not waiting:
                if self.loading_done.is_set() and self.pending.empty():
                    return
                time.sleep(0.3)
                continue
            known = self.ids()
            for key, saga in list(waiting.items()):
                if saga.needs_paid_order is not None:
                    paid = known.get(saga.needs_paid_order.key)
                    if paid is None or not checks.is_final(paid[1]):
                        continue
                    del waiting[key]
                    if paid[1] != "completed":
                        self.never_started.add(key)  # the order's deviation is reported
                        continue
                    order = self.read_saga(paid[0])
                    if order is None:
                        return
                    order_id = order["saga"]["steps"]["create_order"]["order_id"]
                    saga.input = {"order_id": order_id}
                    self.start_saga(saga, saga.input)
                    continue
                mine = known.get(key)
                if mine is None or mine[1] != "waiting":
                    if mine is not None and checks.is_final(mine[1]):
                        del waiting[key]  # ended before its events: its end is checked
                    continue
                if saga.flow == "booking_payment":
                    rows = self.store.query(
                        "SELECT key FROM subscriptions WHERE saga_id = %s AND event = %s",
                        (mine[0], "payment.succeeded"))
                    if not rows:
                        continue
                    for event in saga.events:
                        event.body["payment_id"] = rows[0][0]
                        event.message_id = f"{event.type}/{rows[0][0]}"
                del waiting[key]
                for n, event in enumerate(saga.events):
                    if n > 0:
                        time.sleep(0.05)
                    self.publish(event)
            time.sleep(0.5)

    def read_saga(self, saga_id):
        """GET /api/sagas/{id} from any orchestrator, asked again while the one asked answers
        503 (it is starting, or its PostgreSQL is away) or goes away: an orchestrator a fault
        restarts is what the run is for, not a reason for the harness to give up."""
        while not self.stop.is_set():
            try:
                return get_json(self.any_admin() + f"/api/sagas/{saga_id}")
            except urllib.error.HTTPError as error:
                if error.code != 503:
                    raise
            except OSError:
                pass
            time.sleep(0.5)
        return None

    def guarded(self, work):
        """A harness thread that fails is a deviation at once, not 15 minutes of waiting for
        sagas that it alone could have moved on."""
        def run():
            try:
                work()
            except Exception as error:  # noqa: BLE001 - any failure of the harness is reported
                self.problems.append(f"the harness's {work.__name__} failed: {error!r}")
                self.harness_failed.set()
                raise
        return run

    def any_admin(self):
        while True:
            for url in self.cluster.admin:
                try:
                    with urllib.request.urlopen(url + "/healthz", timeout=2):
                        return url
                except OSError:
                    pass
            time.sleep(0.5)

    # --- faults ------------------------------------------------------------------------------
    def run_faults(self, schedule, clock_start):
        for fault in schedule:
            if self.stop.wait(max(0.0, clock_start + fault.at - time.time())):
                return
            log(f"fault: {fault.kind}: {fault.target} for {fault.duration} s")
            fault.began = time.time()
            self.down = fault.target
            if fault.kind == "broker down":
                self.cluster.broker_stop()
                time.sleep(max(0.0, fault.began + fault.duration - time.time()))
                self.cluster.broker_start()
            elif fault.kind == "postgres restarted":
                self.cluster.pg_restart()
            elif fault.kind == "orchestrator stopped past its lease":
                p = self.cluster.process(fault.target)
                p.signal(signal.SIGSTOP)
                time.sleep(fault.duration)
                p.signal(signal.SIGCONT)
            else:  # killed: kill -9, down for a while, started again
                p = self.cluster.process(fault.target)
                p.kill9()
                time.sleep(fault.duration)
                p.start()
            self.down = None
            fault.ended = time.time()
            # The real duration, which includes stopping and starting the servers.
            fault.duration = round(fault.ended - fault.began, 1)
            fault.at = round(fault.began - clock_start, 1)

    def watchdog(self):
        """Restarts a process that exited on its own (counted as a deviation), never one the
        schedule has down on purpose."""
        while not self.stop.wait(2):
            self.cluster.check_alive(skip=self.down)

    # --- the end -----------------------------------------------------------------------------
    def wait_for_ends(self, timeout):
        keys = {s.key for s in plan.all_sagas(self.sagas)}
        deadline = time.time() + timeout
        while time.time() < deadline and not self.harness_failed.is_set():
            known = self.ids()
            keys -= self.never_started
            open_ = [k for k in keys if k not in known or not checks.is_final(known[k][1])]
            if not open_:
                return True
            log(f"waiting for {len(open_)} sagas to end")
            time.sleep(5)
        return False

    def wait_drained(self, timeout):
        deadline = time.time() + timeout
        while True:
            queues = self.cluster.queues()
            outbox = self.store.query("SELECT count(*) FROM outbox")[0][0]
            dead = f"{self.args.prefix}.{DEAD_LETTERS}"
            if (not checks.queue_deviations(queues, dead) and outbox == 0) or time.time() > deadline:
                return queues, outbox
            time.sleep(2)


def print_table(title, header, rows):
    print(f"\n{title}")
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)] if rows else [len(h) for h in header]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(line.format(*header))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*(str(x) for x in row)))


def main(argv=None):
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # a stuck run shows where it waits
    # SIGTERM stops the run like Ctrl-C: processes and servers are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    p = argparse.ArgumentParser(
        prog="tools/chaos", description=__doc__,
        epilog="Servers: SAGAFLOW_CHAOS_AMQP_PORT (24672; the admin endpoints on that + 10, "
               "+ 11...) and SAGAFLOW_CHAOS_PG_PORT (24432); data, logs and state files in "
               "$SAGAFLOW_BUILD_DIR/chaos-<amqp port>/. Exit status 1 on any deviation.")
    p.add_argument("--sagas", type=int, default=5000, help="sagas to run (default 5000)")
    p.add_argument("--seed", type=int, default=1, help="seed of the sagas and the schedule")
    p.add_argument("--outage", type=float, default=60, help="seconds the broker is down (60)")
    p.add_argument("--orchestrators", type=int, default=2, help="sagaflowd processes (2)")
    p.add_argument("--partitions", type=int, default=8, help="partitions they share (8)")
    p.add_argument("--lease-ms", type=int, default=5000, help="their lease time (5000)")
    p.add_argument("--gap", type=float, default=15, help="seconds between faults (15)")
    p.add_argument("--keep", action="store_true", help="leave servers and processes running")
    p.add_argument("--no-build", action="store_true", help="use the binaries already built")
    p.add_argument("--start-threads", type=int, default=6, help=argparse.SUPPRESS)
    p.add_argument("--end-timeout", type=float, default=900,
                   help="seconds to wait, after the load, for every saga to end (900)")
    args = p.parse_args(argv)
    args.prefix = f"chaos{args.seed}"
    build = os.environ.get("SAGAFLOW_BUILD_DIR", os.path.join(root, "build"))
    amqp_port = int(os.environ.get("SAGAFLOW_CHAOS_AMQP_PORT", "24672"))
    pg_port = int(os.environ.get("SAGAFLOW_CHAOS_PG_PORT", "24432"))
    if not args.no_build:
        subprocess.run([os.path.join(root, "tools", "build"), "sagaflowd", "sagaflow-participant",
                        "sagactl"], check=True)

    sagas = plan.make_sagas(args.sagas, args.seed)
    names = ["+".join(s) for s in PARTICIPANTS]
    schedule = make_schedule(args.seed, args.orchestrators, names, args.outage,
                             args.lease_ms / 1000, args.gap, warmup=args.gap)
    cluster = Cluster(root, build, os.path.join(build, f"chaos-{amqp_port}"), amqp_port, pg_port,
                      args.orchestrators, args.partitions, args.lease_ms, args.prefix, log)
    log(f"{len(plan.all_sagas(sagas))} sagas, {len(schedule)} faults, servers on {amqp_port}/{pg_port}")
    try:
        cluster.reset_servers()
        seed_file = os.path.join(cluster.dir, "seed.json")
        strays = plan.stray_events(5, args.seed)
        with open(seed_file, "w") as f:
            json.dump(plan.seed_calls(sagas), f)
        cluster.start_participants(seed_file)
        cluster.start_daemons()
        return drive(args, cluster, sagas, schedule, strays)
    finally:
        if not args.keep:
            cluster.stop_processes()
            cluster.stop_servers()


def drive(args, cluster, sagas, schedule, strays):
    run = Run(args, cluster, sagas)
    run.loading_done = threading.Event()
    clock_start = time.time()
    # Starts spread over the schedule as it will run: stopping and starting the broker and
    # PostgreSQL take time of their own (about 30 s for RabbitMQ on a small machine).
    load_time = span(schedule, args.gap) - args.gap + 30
    follow = threading.Thread(target=run.guarded(run.follow_up), daemon=True)
    follow.start()
    threading.Thread(target=run.watchdog, daemon=True).start()

    def faults():
        run.run_faults(schedule, clock_start)

    fault_thread = threading.Thread(target=faults, daemon=True)
    fault_thread.start()
    run.load(load_time)
    for event in strays:
        run.publish(event)
    log("every saga started")
    fault_thread.join()
    run.loading_done.set()
    log("every fault over")
    ended = run.wait_for_ends(args.end_timeout)
    follow.join(timeout=30)
    queues, outbox = run.wait_drained(60)
    run.stop.set()
    for publisher in run.publishers:
        publisher.close()
    dead = Publisher(cluster.amqp_url, args.prefix).drain_dead_letters(
        f"{args.prefix}.{DEAD_LETTERS}")
    reports = {name: cluster.participant_report(name) for name in cluster.participants}
    return judge(args, run, sagas, schedule, strays, clock_start, ended, queues, outbox, dead,
                 reports)


def judge(args, run, sagas, schedule, strays, clock_start, ended, queues, outbox, dead, reports):
    rows = run.store.query(
        "SELECT idempotency_key, status, updated_at, state->>'failure' FROM sagas")
    ends = {k: st for k, st, _, _ in rows}
    ends_at = {k: u / 1000 for k, st, u, _ in rows if checks.is_final(st)}
    why = {k: (f or "")[:70] for k, _, _, f in rows}
    why.update({k: "its order was not paid, so there was nothing to cancel"
                for k in run.never_started})
    deviations = list(run.problems)
    if not ended:
        deviations.append("not every saga ended in time")

    print_table("Fault schedule (seconds after the load started)", ("at", "for", "fault", "target"),
                [(f.at, f.duration, f.kind, f.target) for f in schedule])

    table, wrong = checks.outcome_table(sagas, ends, why)
    print_table("Sagas per end state", ("flow", "status", "expected", "actual"), table)
    if wrong:
        print_table("Sagas that ended otherwise than their input says",
                    ("flow", "shape", "expected", "actual", "why (the saga's failure)", "sagas"),
                    [(*k, n) for k, n in sorted(wrong.items())])
        deviations += [f"{n} {flow} sagas ({shape}) ended {actual}, not {exp}"
                       + (f": {reason}" if reason else "")
                       for (flow, shape, exp, actual, reason), n in sorted(wrong.items())]

    print_table("Participants", ("process", "service", "applied", "repeated"),
                [(name, s, r[s]["applied"], r[s]["repeated"])
                 for name, r in sorted(reports.items()) for s in sorted(r) if s != "seeded"])
    deviations += checks.report_deviations(reports)
    holdings = checks.holdings_deviations(sagas, ends, checks.merged_holdings(reports))
    checked = len(plan.expected_holdings(sagas, ends))
    print(f"\nMoney, points, stock, certificate balances, slots: {checked} resources checked "
          f"against the sagas' ends, {len(holdings)} off")
    if holdings:
        print_table("Resources off", ("service", "resource", "expected", "actual"), holdings[:30])
        deviations.append(f"{len(holdings)} resources do not stand as the sagas' ends say")

    dead_queue = f"{args.prefix}.{DEAD_LETTERS}"
    deviations += checks.queue_deviations(queues, dead_queue)
    if outbox != 0:
        deviations.append(f"the outbox holds {outbox} rows")
    dl = checks.dead_letter_deviations(dead, run.published, {e.message_id for e in strays})
    deviations += dl
    print(f"\nQueues: {sum(v for k, v in queues.items() if k != dead_queue)} messages left "
          f"outside the dead letters; outbox: {outbox} rows; dead letters: {len(dead)} "
          f"({len(strays)} injected, {len(dead) - len(strays)} late copies of outside events)")

    exits = [(p.name, p.unexpected_exits) for p in [*run.cluster.daemons, *run.cluster.participants.values()] if p.unexpected_exits]
    for name, codes in exits:
        deviations.append(f"{name} exited on its own (exit status {codes}) and was started again")

    recov = checks.recoveries(schedule, ends_at, run.started_at, clock_start)
    print_table("Recovery after each fault (s): until a saga ends again; until every saga "
                "started before its end has ended",
                ("at", "fault", "target", "first end", "caught up"),
                [(f.at, f.kind, f.target, "-" if a is None else f"{a:.1f}", f"{b:.1f}")
                 for f, a, b in recov])
    print_table("Longest recovery per kind of fault (s)", ("fault", "first end", "caught up"),
                [(k, f"{a:.1f}", f"{b:.1f}") for k, (a, b) in sorted(checks.longest_by_kind(recov).items())])

    if deviations:
        print(f"\nDEVIATIONS ({len(deviations)}):")
        for d in deviations:
            print(f"  - {d}")
        return 1
    print("\nOK: every saga ended as its input says; nothing applied twice; everything conserved "
          "and drained")
    return 0


if __name__ == "__main__":
    sys.exit(main())
