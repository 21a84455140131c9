"""The Python worker against the live broker (SAGAFLOW_TEST_AMQP_URL) and PostgreSQL
(SAGAFLOW_TEST_PG_DSN) that tools/test starts: the rules of docs/protocol.md as a saga's
orchestrator would observe them, and the inbox's promise across crashes."""

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

import pika

from sagaflow import (BusinessFailure, EventNotRouted, EventPublisher, PostgresInbox,
                      SqliteInbox, TechnicalError, Worker)
from sagaflow.envelope import work_queue_arguments

HERE = os.path.dirname(os.path.abspath(__file__))


def required_env(name):
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"{name} is not set: run tools/test (it starts the test servers)")
    return value


AMQP_URL = required_env("SAGAFLOW_TEST_AMQP_URL")


def counter_handlers(worker, placeholder="?"):
    """A service whose effect is one committed UPDATE per command, in the inbox's transaction."""

    def sql(text):
        return text.replace("?", placeholder)

    @worker.handler("counter.add")
    def add(ctx, payload):
        cursor = ctx.db.cursor()
        cursor.execute(sql("UPDATE counters SET n = n + ? WHERE name = ?"),
                       (payload["amount"], payload["name"]))
        if payload.get("refuse"):
            raise BusinessFailure("Refused", {"why": "asked to"})
        if payload.get("break"):
            raise TechnicalError("DatabaseDown", {"error": "asked to"})
        if payload.get("crash"):
            raise RuntimeError("handler crashed")
        return {"added": payload["amount"]}


class Orchestrator:
    """Plays the orchestrator's side: publishes commands, reads replies and dead letters."""

    def __init__(self, prefix, service, queue_type="quorum"):
        self.prefix = prefix
        self.service = service
        self.connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()
        ch, p = self.channel, prefix
        ch.exchange_declare(p + ".commands", "topic", durable=True)
        ch.exchange_declare(p + ".dead", "fanout", durable=True)
        work = work_queue_arguments(p, queue_type)
        ch.queue_declare(p + ".replies", durable=True, arguments=work)
        ch.queue_declare(p + ".dead-letters", durable=True, arguments={"x-queue-type": queue_type})
        ch.queue_bind(p + ".dead-letters", p + ".dead", routing_key="")
        # As the orchestrator does for every service it is configured with (section 2).
        queue = f"{p}.commands.{service}"
        ch.queue_declare(queue, durable=True, arguments=work)
        ch.queue_bind(queue, p + ".commands", routing_key=service)

    def close(self):
        for queue in (f"{self.prefix}.replies", f"{self.prefix}.dead-letters",
                      f"{self.prefix}.commands.{self.service}"):
            self.channel.queue_delete(queue)
        for exchange in ("commands", "dead", "events"):
            self.channel.exchange_delete(f"{self.prefix}.{exchange}")
        self.connection.close()

    def send(self, command_type, payload, message_id, attempt=1, key=None, reply_to=True,
             body=None, extra_headers=None):
        headers = {"sagaflow-kind": "command", "attempt": attempt, "flow": "test",
                   "step": "add", "idempotency-key": key or message_id.rsplit("/", 1)[0],
                   "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
        headers.update(extra_headers or {})
        properties = pika.BasicProperties(
            message_id=message_id, type=command_type, correlation_id="saga-1",
            reply_to=f"{self.prefix}.replies" if reply_to else None,
            content_type="application/json", delivery_mode=2, headers=headers,
            app_id="test-orchestrator")
        self.channel.basic_publish(f"{self.prefix}.commands", self.service,
                                   body if body is not None else json.dumps(payload).encode(),
                                   properties, mandatory=True)

    def take(self, queue, count, timeout=20):
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            method, properties, body = self.channel.basic_get(queue, auto_ack=True)
            if method is None:
                time.sleep(0.02)
                continue
            out.append((properties, body))
        if len(out) < count:
            raise AssertionError(f"{queue}: {len(out)} of {count} messages within {timeout} s")
        return out

    def replies(self, count, timeout=20):
        return self.take(f"{self.prefix}.replies", count, timeout)

    def dead_letters(self, count):
        return self.take(f"{self.prefix}.dead-letters", count)


class InboxWorkerContract:
    """The rules, for any inbox. Subclasses make the inbox and read the counter."""

    placeholder = "?"

    def make_inbox(self):
        raise NotImplementedError

    def counter(self):
        raise NotImplementedError

    def setUp(self):
        self.prefix = "t.py-" + uuid.uuid4().hex[:8]
        self.orchestrator = Orchestrator(self.prefix, "counter")
        self.inbox = self.make_inbox()
        self.worker = Worker(AMQP_URL, "counter", self.inbox, prefix=self.prefix)
        counter_handlers(self.worker, self.placeholder)
        self.thread = threading.Thread(target=self.worker.run, daemon=True)
        self.thread.start()
        self.assertTrue(self.worker.ready.wait(20), "the worker did not start consuming")

    def tearDown(self):
        self.worker.stop()
        self.thread.join(10)
        self.assertFalse(self.thread.is_alive(), "run() did not return after stop()")
        self.orchestrator.close()

    def test_a_reply_is_addressed_to_its_command_as_section_5_says(self):
        self.orchestrator.send("counter.add", {"name": "a", "amount": 5}, "saga-1/add/do/1")
        [(properties, body)] = self.orchestrator.replies(1)
        self.assertEqual(properties.message_id, "saga-1/add/do/1/reply")
        self.assertEqual(properties.type, "counter.add")
        self.assertEqual(properties.correlation_id, "saga-1")
        self.assertEqual(properties.content_type, "application/json")
        self.assertEqual(properties.delivery_mode, 2)
        self.assertIsNone(properties.reply_to)
        headers = properties.headers
        self.assertEqual(headers["sagaflow-kind"], "reply")
        self.assertEqual(headers["causation-id"], "saga-1/add/do/1")
        self.assertEqual(headers["outcome"], "success")
        self.assertEqual(headers["attempt"], 1)
        self.assertEqual(headers["idempotency-key"], "saga-1/add/do")
        self.assertEqual(headers["flow"], "test")
        self.assertEqual(headers["step"], "add")
        self.assertTrue(headers["traceparent"].startswith("00-4bf92f"))
        self.assertNotIn("error-code", headers)
        self.assertEqual(json.loads(body), {"added": 5})
        self.assertEqual(self.counter(), 5)

    def test_a_duplicate_and_a_retry_are_answered_from_the_inbox_and_applied_once(self):
        self.orchestrator.send("counter.add", {"name": "a", "amount": 7}, "saga-1/add/do/1")
        self.orchestrator.send("counter.add", {"name": "a", "amount": 7}, "saga-1/add/do/1")
        self.orchestrator.send("counter.add", {"name": "a", "amount": 7}, "saga-1/add/do/2",
                               attempt=2)
        replies = self.orchestrator.replies(3)
        self.assertEqual(sorted(p.headers["causation-id"] for p, _ in replies),
                         ["saga-1/add/do/1", "saga-1/add/do/1", "saga-1/add/do/2"])
        retry = [p for p, _ in replies if p.headers["attempt"] == 2][0]
        self.assertEqual(retry.message_id, "saga-1/add/do/2/reply")
        self.assertTrue(all(json.loads(b) == {"added": 7} for _, b in replies))
        self.assertEqual(self.counter(), 7)

    def test_a_business_failure_changes_nothing_and_is_remembered(self):
        self.orchestrator.send("counter.add", {"name": "a", "amount": 3, "refuse": True},
                               "saga-1/add/do/1")
        self.orchestrator.send("counter.add", {"name": "a", "amount": 3}, "saga-1/add/do/2",
                               attempt=2)
        replies = self.orchestrator.replies(2)
        for properties, body in replies:
            self.assertEqual(properties.headers["outcome"], "business_failure")
            self.assertEqual(properties.headers["error-code"], "Refused")
            self.assertEqual(json.loads(body), {"why": "asked to"})
        self.assertEqual(self.counter(), 0)

    def test_a_technical_error_is_not_remembered_so_the_retry_runs_again(self):
        self.orchestrator.send("counter.add", {"name": "a", "amount": 2, "break": True},
                               "saga-1/add/do/1")
        [(first, _)] = self.orchestrator.replies(1)
        self.assertEqual(first.headers["outcome"], "technical_error")
        self.assertEqual(first.headers["error-code"], "DatabaseDown")
        self.orchestrator.send("counter.add", {"name": "a", "amount": 2}, "saga-1/add/do/2",
                               attempt=2)
        [(second, body)] = self.orchestrator.replies(1)
        self.assertEqual(second.headers["outcome"], "success")
        self.assertEqual(json.loads(body), {"added": 2})
        self.assertEqual(self.counter(), 2)

    def test_an_unknown_command_is_refused_and_not_remembered(self):
        self.orchestrator.send("counter.subtract", {"name": "a", "amount": 1}, "saga-1/sub/do/1")
        [(properties, _)] = self.orchestrator.replies(1)
        self.assertEqual(properties.headers["outcome"], "business_failure")
        self.assertEqual(properties.headers["error-code"], "UnknownCommand")
        self.assertIsNone(self.inbox.find("saga-1/sub/do"))

    def test_a_group_commits_every_command_but_the_one_that_broke(self):
        for i in range(40):
            self.orchestrator.send("counter.add",
                                   {"name": "a", "amount": 1, "crash": i == 17},
                                   f"saga-{i}/add/do/1")
        replies = self.orchestrator.replies(40)
        outcomes = {p.headers["causation-id"]: p.headers["outcome"] for p, _ in replies}
        self.assertEqual(outcomes.pop("saga-17/add/do/1"), "technical_error")
        self.assertEqual(set(outcomes.values()), {"success"})
        self.assertEqual(self.counter(), 39)

    def test_undecodable_and_unanswerable_commands_are_dead_lettered_whole(self):
        self.orchestrator.send("counter.add", None, "saga-1/add/do/1", body=b"{not json",
                               extra_headers={"custom": "kept"})
        self.orchestrator.send("counter.add", {"name": "a", "amount": 1}, "saga-2/add/do/1",
                               reply_to=False)
        self.orchestrator.send("counter.add", {"name": "a", "amount": 1}, "saga-3/add/do/1",
                               extra_headers={"sagaflow-kind": "reply"})
        self.orchestrator.send("counter.add", {"name": "a", "amount": 1}, "saga-4/add/do/1",
                               extra_headers={"outcome": "maybe"})
        letters = {p.message_id: (p, b) for p, b in self.orchestrator.dead_letters(4)}
        codes = {i: letters[i][0].headers["x-sagaflow-reason-code"] for i in letters}
        self.assertEqual(codes, {"saga-1/add/do/1": "not_json", "saga-2/add/do/1": "no_reply_to",
                                 "saga-3/add/do/1": "wrong_kind",
                                 "saga-4/add/do/1": "malformed_envelope"})
        self.assertEqual(letters["saga-3/add/do/1"][0].headers["x-sagaflow-reason"],
                         "a command queue takes only commands, this is a reply")
        self.assertEqual(letters["saga-4/add/do/1"][0].headers["x-sagaflow-reason"],
                         "unknown outcome 'maybe'")
        properties, body = letters["saga-1/add/do/1"]
        self.assertEqual(body, b"{not json")
        self.assertTrue(properties.headers["x-sagaflow-reason"].startswith("body is not JSON"))
        self.assertEqual(properties.headers["x-sagaflow-queue"], f"{self.prefix}.commands.counter")
        self.assertEqual(properties.headers["custom"], "kept")
        self.assertEqual(properties.app_id, "test-orchestrator")
        self.assertEqual(properties.type, "counter.add")
        properties, _ = letters["saga-2/add/do/1"]
        self.assertEqual(properties.headers["x-sagaflow-reason"],
                         "command has no reply_to: nowhere to send the reply")
        self.assertEqual(self.counter(), 0)


class SqliteWorkerTest(InboxWorkerContract, unittest.TestCase):
    def make_inbox(self):
        self.folder = tempfile.TemporaryDirectory()
        path = os.path.join(self.folder.name, "service.db")
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL)")
            db.execute("INSERT INTO counters VALUES ('a', 0)")
        self.path = path
        return SqliteInbox(path, scope="counter")

    def counter(self):
        with sqlite3.connect(self.path) as db:
            return db.execute("SELECT n FROM counters WHERE name = 'a'").fetchone()[0]

    def tearDown(self):
        super().tearDown()
        self.inbox.close()
        self.folder.cleanup()


class PostgresWorkerTest(InboxWorkerContract, unittest.TestCase):
    placeholder = "%s"

    def make_inbox(self):
        import psycopg2  # pylint: disable=import-outside-toplevel

        dsn = required_env("SAGAFLOW_TEST_PG_DSN")
        self.schema = "py_" + uuid.uuid4().hex[:8]
        self.admin = psycopg2.connect(dsn)
        self.admin.autocommit = True
        with self.admin.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA {self.schema}")
            cursor.execute(f"CREATE TABLE {self.schema}.counters (name TEXT PRIMARY KEY, n BIGINT)")
            cursor.execute(f"INSERT INTO {self.schema}.counters VALUES ('a', 0)")
        return PostgresInbox(f"{dsn} options='-c search_path={self.schema}'", scope="counter")

    def counter(self):
        with self.admin.cursor() as cursor:
            cursor.execute(f"SELECT n FROM {self.schema}.counters WHERE name = 'a'")
            return cursor.fetchone()[0]

    def tearDown(self):
        super().tearDown()
        self.inbox.close()
        with self.admin.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA {self.schema} CASCADE")
        self.admin.close()


CRASHING_WORKER = r"""
import os, sys
from sagaflow import SqliteInbox, Worker
sys.path.insert(0, sys.argv[1])
from test_worker import counter_handlers
url, prefix, path, point = sys.argv[2:6]
def fault(at):
    if at == point:
        os._exit(9)  # as kill -9 would: nothing flushed, nothing acknowledged
worker = Worker(url, "counter", SqliteInbox(path, scope="counter"), prefix=prefix,
                fault=fault if point else None)
counter_handlers(worker)
worker.run()
"""


class ClassicQueueTest(unittest.TestCase):
    """Section 2, classic queues: the worker counts each command's returns on the message."""

    def setUp(self):
        self.prefix = "t.py-classic-" + uuid.uuid4().hex[:8]
        self.orchestrator = Orchestrator(self.prefix, "counter", queue_type="classic")
        self.folder = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.folder.name, "service.db")
        with sqlite3.connect(self.path) as db:
            db.execute("CREATE TABLE counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL)")
            db.execute("INSERT INTO counters VALUES ('a', 0)")
        self.inbox = SqliteInbox(self.path, scope="counter")

    def tearDown(self):
        self.inbox.close()
        self.folder.cleanup()
        self.orchestrator.close()

    def test_a_returned_command_is_counted_and_past_the_limit_dead_lettered(self):
        queue = f"{self.prefix}.commands.counter"
        self.orchestrator.send("counter.add", {"name": "a", "amount": 5}, "saga-1/add/do/1")
        self.orchestrator.send("counter.add", {"name": "a", "amount": 100}, "saga-2/add/do/1",
                               extra_headers={"x-sagaflow-returns": 3})
        # A consumer takes both and gives them back, as a crashed worker's connection would.
        ch = self.orchestrator.channel
        taken = [ch.basic_get(queue, auto_ack=False)[0] for _ in range(2)]
        self.assertTrue(all(method is not None for method in taken))
        for method in taken:
            ch.basic_nack(method.delivery_tag, requeue=True)
        with self.assertRaises(ValueError):
            Worker(AMQP_URL, "counter", self.inbox, prefix=self.prefix, queue_type="lazy")
        worker = Worker(AMQP_URL, "counter", self.inbox, prefix=self.prefix, queue_type="classic")
        counter_handlers(worker)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        try:
            [(reply, body)] = self.orchestrator.replies(1)
            self.assertEqual(reply.headers["causation-id"], "saga-1/add/do/1")
            self.assertNotIn("x-sagaflow-returns", reply.headers)
            self.assertEqual(json.loads(body), {"added": 5})
            [(letter, letter_body)] = self.orchestrator.dead_letters(1)
            self.assertEqual(letter.message_id, "saga-2/add/do/1")
            self.assertEqual(letter.headers["x-sagaflow-reason-code"], "delivery_limit")
            self.assertEqual(letter.headers["x-sagaflow-reason"],
                             f"returned 4 times to '{queue}', over the delivery limit of 3")
            self.assertEqual(json.loads(letter_body), {"name": "a", "amount": 100})
            # Both originals are acknowledged: the queue is empty, the copy answered once.
            deadline = time.monotonic() + 10
            while ch.queue_declare(queue, passive=True).method.message_count and \
                    time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(ch.queue_declare(queue, passive=True).method.message_count, 0)
            with self.assertRaises(AssertionError):
                self.orchestrator.replies(1, timeout=1)
            with sqlite3.connect(self.path) as db:
                self.assertEqual(db.execute("SELECT n FROM counters").fetchone()[0], 5)
        finally:
            worker.stop()
            thread.join(10)


class CrashTest(unittest.TestCase):
    """A worker process dies at each point of a group; the broker redelivers to a new one.
    Every command's effect is applied once and every command is answered."""

    POINTS = ("handled", "released", "committed", "before_publish")
    RUNS = 3

    def test_a_crash_at_any_point_applies_each_effect_once(self):
        crashes = 0
        for point in self.POINTS:
            for run in range(self.RUNS):
                with self.subTest(point=point, run=run):
                    crashes += self.crash_once(point)
        self.assertEqual(crashes, len(self.POINTS) * self.RUNS)

    def crash_once(self, point):
        prefix = "t.py-crash-" + uuid.uuid4().hex[:8]
        orchestrator = Orchestrator(prefix, "counter")
        folder = tempfile.TemporaryDirectory()
        path = os.path.join(folder.name, "service.db")
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL)")
            db.execute("INSERT INTO counters VALUES ('a', 0)")
        try:
            def start(fault_point):
                return subprocess.Popen(
                    [sys.executable, "-c", CRASHING_WORKER, HERE, AMQP_URL, prefix, path,
                     fault_point])

            commands = 10
            crashing = start(point)
            for i in range(commands):
                orchestrator.send("counter.add", {"name": "a", "amount": 1},
                                  f"saga-{i}/add/do/1")
            try:
                self.assertEqual(crashing.wait(20), 9, "the worker did not die at " + point)
            finally:
                crashing.kill()
            survivor = start("")
            try:
                replies = orchestrator.replies(commands, timeout=30)
            finally:
                survivor.terminate()
                survivor.wait(10)
            answered = {p.headers["causation-id"] for p, _ in replies}
            self.assertEqual(len(answered), commands)
            self.assertTrue(all(p.headers["outcome"] == "success" for p, _ in replies))
            with sqlite3.connect(path) as db:
                self.assertEqual(db.execute("SELECT n FROM counters").fetchone()[0], commands)
                self.assertEqual(db.execute("SELECT count(*) FROM sagaflow_inbox").fetchone()[0],
                                 commands)
            return 1
        finally:
            orchestrator.close()
            folder.cleanup()


class EventPublisherTest(unittest.TestCase):
    def test_an_event_is_confirmed_with_its_envelope_and_an_unbound_type_is_an_error(self):
        prefix = "t.py-events-" + uuid.uuid4().hex[:8]
        connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        channel = connection.channel()
        channel.exchange_declare(prefix + ".events", "topic", durable=True)
        queue = channel.queue_declare("", exclusive=True).method.queue
        channel.queue_bind(queue, prefix + ".events", routing_key="payment.succeeded")
        publisher = EventPublisher(AMQP_URL, prefix=prefix)
        try:
            publisher.publish("payment.succeeded", {"payment_id": "pay-42"},
                              "payment.succeeded/pay-42")
            method, properties, body = channel.basic_get(queue, auto_ack=True)
            self.assertIsNotNone(method)
            self.assertEqual(properties.message_id, "payment.succeeded/pay-42")
            self.assertEqual(properties.type, "payment.succeeded")
            self.assertEqual(properties.delivery_mode, 2)
            self.assertEqual(properties.content_type, "application/json")
            self.assertEqual(properties.headers, {"sagaflow-kind": "event"})
            self.assertEqual(json.loads(body), {"payment_id": "pay-42"})
            with self.assertRaises(EventNotRouted):
                publisher.publish("payment.nobody", {}, "payment.nobody/1")
            queues = [q for q in ("commands", "replies") if self._exists(f"{prefix}.{q}")]
            self.assertEqual(queues, [], "the publisher declared queues")
        finally:
            publisher.close()
            channel.exchange_delete(prefix + ".events")
            connection.close()

    @staticmethod
    def _exists(queue):
        connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        try:
            connection.channel().queue_declare(queue, passive=True)
            return True
        except pika.exceptions.ChannelClosedByBroker:
            return False
        finally:
            if connection.is_open:
                connection.close()


if __name__ == "__main__":
    unittest.main()
