"""The production pair a chaos run drives: its own RabbitMQ and PostgreSQL (tools/test-broker,
tools/test-pg on the run's ports and folders), `sagaflowd` processes sharing partitions, and one
`sagaflow-participant` process per service (certificates and sms together), each with a durable
state file."""

import json
import os
import signal
import subprocess
import time
import urllib.request

# The participant processes: each serves these services (sms reads CVCs from certificates).
PARTICIPANTS = (
    ("points",), ("offers",), ("users",), ("billing",), ("notifications",), ("orders",),
    ("coupons",), ("inventory",), ("platform",), ("payment_gateway",), ("certificates", "sms"),
    ("payments",), ("booking",),
)


class Process:
    def __init__(self, name, argv, env, log):
        self.name, self.argv, self.env, self.log = name, argv, env, log
        self.proc = None
        self.unexpected_exits = []

    def start(self):
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=out,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()

    def signal(self, sig):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def kill9(self):
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill9()

    def check_alive(self):
        """Restarts a process that exited on its own, and remembers it (a deviation)."""
        if self.proc is not None and self.proc.poll() is not None:
            self.unexpected_exits.append(self.proc.returncode)
            self.start()


class Cluster:
    def __init__(self, root, build, workdir, amqp_port, pg_port, orchestrators, partitions,
                 lease_ms, prefix, log):
        self.root, self.build, self.dir = root, build, workdir
        self.amqp_port, self.pg_port, self.prefix, self.log = amqp_port, pg_port, prefix, log
        self.lease_ms = lease_ms
        os.makedirs(workdir, exist_ok=True)
        self.server_env = dict(os.environ)
        for name in ("SAGAFLOW_TEST_AMQP_URL", "SAGAFLOW_TEST_AMQPS_URL", "SAGAFLOW_TEST_PG_DSN"):
            self.server_env.pop(name, None)
        self.server_env.update(SAGAFLOW_BUILD_DIR=build,
                               SAGAFLOW_TEST_AMQP_PORT=str(amqp_port),
                               SAGAFLOW_TEST_BROKER_DIR=os.path.join(workdir, "rabbitmq"),
                               SAGAFLOW_TEST_PG_PORT=str(pg_port),
                               SAGAFLOW_TEST_PG_DIR=os.path.join(workdir, "postgres"))
        self.amqp_url = f"amqp://guest:guest@127.0.0.1:{amqp_port}/"
        self.pg_dsn = f"host=127.0.0.1 port={pg_port} dbname=sagaflow user=sagaflow"
        self.admin = [f"http://127.0.0.1:{amqp_port + 10 + i}" for i in range(orchestrators)]
        self.partitions = partitions
        self.daemons, self.participants = [], {}
        self.stopping = False  # set once the run stops its processes: none is started again

    # --- the servers -------------------------------------------------------------------------
    def tool(self, name, *args, capture=False):
        argv = [os.path.join(self.root, "tools", name), *args]
        if capture:
            return subprocess.run(argv, env=self.server_env, check=True, capture_output=True,
                                  text=True).stdout
        subprocess.run(argv, env=self.server_env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        return None

    def broker_start(self):
        self.tool("test-broker", "start")

    def broker_stop(self):
        self.tool("test-broker", "stop")

    def pg_start(self):
        self.tool("test-pg", "start")

    def pg_restart(self):
        self.tool("test-pg", "restart")

    def reset_servers(self):
        """Fresh servers: a run starts from empty queues, an empty database, no state files."""
        self.stop_servers()
        subprocess.run(["rm", "-rf", self.dir], check=True)
        os.makedirs(self.dir)
        self.broker_start()
        self.pg_start()

    def stop_servers(self):
        for name in ("test-broker", "test-pg"):
            try:
                self.tool(name, "stop")
            except subprocess.CalledProcessError:
                pass

    def queues(self):
        out = self.tool("test-broker", "ctl", "-q", "list_queues", "name", "messages",
                        capture=True)
        queues = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                queues[parts[0]] = int(parts[1])
        return queues

    # --- the processes -----------------------------------------------------------------------
    def start_participants(self, seed_file):
        binary = os.path.join(self.build, "apps", "sagaflow-participant")
        for services in PARTICIPANTS:
            name = "+".join(services)
            state = os.path.join(self.dir, f"participant-{name}.db")
            argv = [binary, *services, "--amqp", self.amqp_url, "--amqp-prefix", self.prefix,
                    "--seed", seed_file, "--state", state]
            p = Process(name, argv, dict(os.environ),
                        os.path.join(self.dir, f"participant-{name}.log"))
            p.state, p.services, p.seed_file = state, services, seed_file
            p.start()
            self.participants[name] = p

    def participant_report(self, name):
        p = self.participants[name]
        argv = [p.argv[0], *p.services, "--state", p.state, "--seed", p.seed_file, "--print-report"]
        return json.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout)

    def start_daemons(self):
        binary = os.path.join(self.build, "apps", "sagaflowd")
        for i, url in enumerate(self.admin):
            env = dict(os.environ)
            env.update(SAGAFLOW_PG_DSN=self.pg_dsn, SAGAFLOW_AMQP_URL=self.amqp_url,
                       SAGAFLOW_AMQP_PREFIX=self.prefix,
                       SAGAFLOW_FLOWS=os.path.join(self.root, "definitions"),
                       SAGAFLOW_ADMIN_LISTEN=url[len("http://"):],
                       SAGAFLOW_PARTITIONS=str(self.partitions), SAGAFLOW_OWNER=f"chaos-{i}",
                       SAGAFLOW_LEASE_TTL_MS=str(self.lease_ms))
            d = Process(f"orchestrator {i}", [binary], env,
                        os.path.join(self.dir, f"sagaflowd-{i}.log"))
            d.start()
            self.daemons.append(d)
        for url in self.admin:
            self.wait_ready(url)

    def wait_ready(self, url, timeout=90):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(url + "/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"sagaflowd at {url} not ready within {timeout} s; see {self.dir}")

    def process(self, target):
        if target.startswith("orchestrator "):
            return self.daemons[int(target.split()[1])]
        return self.participants[target]

    def check_alive(self, skip=None):
        if self.stopping:
            return
        for p in [*self.daemons, *self.participants.values()]:
            if p.name != skip:
                p.check_alive()

    def stop_processes(self):
        self.stopping = True
        for p in [*self.daemons, *self.participants.values()]:
            p.stop()
