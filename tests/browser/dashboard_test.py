#!/usr/bin/python3
"""The dashboard in headless Chromium, against a real sagaflowd --demo.

Starts sagaflowd on a free loopback port with an admin token, its own SQLite file and its own
temp folder, waits for /readyz and the end of the demo, makes the sagas the demo does not leave
(one parked past its pivot, one waiting for a payment) through the API, then drives the pages
over WebDriver (python3-selenium, Debian's chromium and chromium-driver):

  - the list asks for the token once and shows sagas and the counts per flow;
  - a saga that ends changes its count on the open page (the event stream);
  - the list shows a loading row before its first answer, each saga's duration and failure;
  - a saga is started from the list's form: an input the flow's contract refuses is not sent
    (the page lists the problems), the server's 4xx is shown as it comes, a good one starts;
  - filtering by flow narrows the list, searching by a saga id's start finds it, and the pager
    follows the API's `next` cursor;
  - a saga's page shows a loading state while the API has not answered, and its steps in
    flight: a command waiting to be retried (attempt, next attempt), a wait (its events);
  - a compensated saga's page draws its lifelines and compensation arrows (SVG data- attributes),
    a saga with retries its retry arrows;
  - Retry and Cancel are offered only where they apply: Retry on a parked saga is sent and its
    outcome shown; a completed saga offers neither;
  - on a waiting saga's page an event it waits for is sent (payment.failed, which it records
    and keeps waiting); Cancel then moves it to compensating, then cancelled.

A screenshot of each page goes to --out (printed). A missing browser, driver or selenium fails
the test, naming the Debian package: it never skips. Every wait is explicit, with generous
time limits (a loaded 2-core machine); no sleep synchronises anything.

usage: dashboard_test.py --sagaflowd PATH --flows DIR --out DIR
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

TOKEN = "dashboard-test-token-0123456789"
START_TIMEOUT = 240  # s: the daemon's start and its demo on a loaded machine
WAIT = 60  # s: any one thing the browser should show
MARKUP_KEY = '<img src=x onerror="window.injected=1"><b>key</b>'

PROBE_FLOW = """name: dashboard_probe
version: 1
description: Parks past its pivot (the second create finds the user), for the dashboard test
input:
  user_id: string
steps:
  - name: create_user
    pivot: true
    irreversible: true
    command:
      service: users
      name: create
      input: { user_id: $input.user_id, username: $input.user_id, email: "probe@example.org" }
  - name: create_again
    irreversible: true
    command:
      service: users
      name: create
      input: { user_id: $input.user_id, username: $input.user_id, email: "probe@example.org" }
"""

# A command to a service nobody serves: its attempt times out after 1 s, and the next one is
# scheduled 10 minutes later, so the saga's page shows a step waiting to be retried.
BACKOFF_FLOW = """name: dashboard_backoff
version: 1
description: A step whose service never answers, waiting for its next attempt (dashboard test)
input:
  n: integer
steps:
  - name: ask_nobody
    irreversible: true
    command:
      service: dashboard_nobody
      name: ask
      input: { n: $input.n }
    timeout: 1s
    retry: { max_attempts: 3, initial_delay: 10m, max_delay: 10m }
"""


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def log(message):
    print(f"[dashboard_test] {message}", flush=True)


# ------------------------------------------------------------------------------------------
# What must be installed: fail loudly, naming the package.
def require_tools():
    missing = []
    browser = shutil.which("chromium") or shutil.which("chromium", path="/usr/bin")
    driver = shutil.which("chromedriver") or shutil.which("chromedriver", path="/usr/bin")
    if not browser:
        missing.append("chromium (no 'chromium' on PATH)")
    if not driver:
        missing.append("chromium-driver (no 'chromedriver' on PATH)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append(f"python3-selenium (not importable by {sys.executable})")
    if missing:
        raise Failure("the dashboard's browser test needs the Debian packages: " +
                      ", ".join(missing) + ". Run tools/setup (it installs them).")
    return browser, driver


# ------------------------------------------------------------------------------------------
# The daemon
def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    def __init__(self, binary, flows, workdir, out):
        self.binary, self.flows, self.workdir, self.out = binary, flows, workdir, out
        self.process = None
        self.url = None

    def start(self):
        # A port free a moment ago may be taken by another test by the time we bind: try again.
        for attempt in range(5):
            port = free_port()
            self.url = f"http://127.0.0.1:{port}"
            self.stdout = open(os.path.join(self.out, "sagaflowd.out"), "w")
            self.stderr = open(os.path.join(self.out, "sagaflowd.log"), "w")
            env = dict(os.environ, SAGAFLOW_ADMIN_TOKEN=TOKEN)
            for name in ("SAGAFLOW_AMQP_URL", "SAGAFLOW_DB", "SAGAFLOW_ADMIN_LISTEN",
                         "SAGAFLOW_CONFIG"):
                env.pop(name, None)
            self.process = subprocess.Popen(
                [self.binary, "--flows", self.flows, "--db", os.path.join(self.workdir, "sagaflow.db"),
                 "--admin-listen", f"127.0.0.1:{port}", "--demo"],
                stdout=self.stdout, stderr=self.stderr, stdin=subprocess.DEVNULL, env=env,
                cwd=self.workdir)
            if self.wait_ready():
                return
            self.stop()
            if "cannot listen" not in self.log_text():
                break
            log(f"port {port} was taken; trying another (attempt {attempt + 2})")
        raise Failure("sagaflowd did not get ready; its log:\n" + self.log_text()[-4000:])

    def log_text(self):
        try:
            with open(os.path.join(self.out, "sagaflowd.log")) as f:
                return f.read()
        except OSError:
            return ""

    # Ready, and the demo done: its scenarios have all ended once the daemon logs that it serves.
    def wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        ready = False
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if not ready:
                try:
                    with urllib.request.urlopen(self.url + "/readyz", timeout=5) as r:
                        ready = r.status == 200
                except (urllib.error.URLError, OSError):
                    pass
            if ready and '"serving; Ctrl-C stops"' in self.log_text():
                return True
            time.sleep(0.2)  # polling interval, not a synchronisation
        return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for f in (getattr(self, "stdout", None), getattr(self, "stderr", None)):
            if f:
                f.close()

    # The admin API with the token.
    def api(self, method, path, body=None, content_type="application/json"):
        data = None
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", "Bearer " + TOKEN)
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=60) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")


def poll(what, predicate, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failure(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)  # polling interval


# ------------------------------------------------------------------------------------------
# Sagas to look at
def history(daemon, saga_id):
    status, body = daemon.api("GET", f"/api/sagas/{saga_id}")
    check(status == 200, f"GET /api/sagas/{saga_id}: {status} {body}")
    return body


def all_sagas(daemon, **filters):
    sagas, after = [], None
    while True:
        query = "&".join(f"{k}={v}" for k, v in {**filters, "limit": 500}.items())
        status, body = daemon.api("GET", "/api/sagas?" + query + (f"&after={after}" if after else ""))
        check(status == 200, f"list: {status} {body}")
        sagas += body["sagas"]
        after = body["next"]
        if not after:
            return sagas


def prepare(daemon):
    """The sagas the test needs: picked from the demo, or started through the API."""
    sagas = {}
    # The compensated saga that undid the most steps.
    best = (0, None)
    for s in all_sagas(daemon, status="compensated"):
        h = history(daemon, s["id"])["history"]
        n = sum(1 for r in h if r["kind"] == "compensation_sent")
        if n > best[0]:
            best = (n, s["id"])
    check(best[1], "the demo left no compensated saga with a compensation")
    sagas["compensated"] = best[1]
    # A saga with a retried command (the demo's data platform that is down for a while).
    for s in all_sagas(daemon, status="completed"):
        h = history(daemon, s["id"])["history"]
        if any(r["kind"] == "command_sent" and r["detail"].get("attempt", 1) > 1 for r in h):
            sagas["retried"] = s["id"]
            break
    check("retried" in sagas, "the demo left no saga with a retried command")
    sagas["completed"] = all_sagas(daemon, status="completed")[0]["id"]

    # Parked: a flow whose step after the pivot fails (the user exists already).
    status, body = daemon.api("POST", "/api/flows", PROBE_FLOW, "application/yaml")
    check(status in (200, 201), f"deploying the probe flow: {status} {body}")
    status, body = daemon.api("POST", "/api/sagas", {
        "flow": "dashboard_probe", "input": {"user_id": "dashboard-probe"},
        "wait": {"end": True}, "timeout_ms": 30000})
    check(status == 201 and body["status"] == "failed", f"the probe saga did not park: {status} {body}")
    sagas["failed"] = body["id"]

    # Waiting: a booking whose payment never comes (its wait times out in 30 minutes).
    # Its business key is markup: the pages must show it as text.
    status, body = daemon.api("POST", "/api/sagas", {
        "flow": "booking_payment", "idempotency_key": MARKUP_KEY,
        "input": {"customer_id": "dashboard-test", "slot_id": "mon-10", "amount": 1500},
        "wait": {"step": "create_payment"}, "timeout_ms": 30000})
    check(status == 201, f"starting a booking: {status} {body}")
    waiting = body["id"]
    poll("the booking to wait for its payment",
         lambda: history(daemon, waiting)["saga"]["status"] == "waiting")
    sagas["waiting"] = waiting

    # Waiting to be retried: its first attempt timed out.
    status, body = daemon.api("POST", "/api/flows", BACKOFF_FLOW, "application/yaml")
    check(status in (200, 201), f"deploying the backoff flow: {status} {body}")
    status, body = daemon.api("POST", "/api/sagas", {"flow": "dashboard_backoff", "input": {"n": 1}})
    check(status == 201, f"starting the backoff saga: {status} {body}")
    backoff = body["id"]
    poll("the backoff saga's retry to be scheduled", lambda: any(
        r["kind"] == "retry_scheduled" for r in history(daemon, backoff)["history"]))
    sagas["backoff"] = backoff
    return sagas


# ------------------------------------------------------------------------------------------
# The browser
class Browser:
    def __init__(self, chromium, chromedriver, out, profile):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--window-size=1400,1000", "--no-first-run", "--no-default-browser-check",
                    "--disable-extensions", "--disable-background-networking",
                    f"--user-data-dir={profile}"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(executable_path=chromedriver,
                          log_path=os.path.join(out, "chromedriver.log"))
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(WAIT * 2)
        self.driver.set_script_timeout(WAIT)
        self.out = out
        self.shots = []
        self.console = []

    def quit(self):
        self.driver.quit()

    # The pages re-render parts of themselves when the event stream reports a change (the counts,
    # a saga's panels): an element found a moment ago may be gone. A condition that meets a
    # stale element is asked again, as if it did not hold yet.
    def wait(self, what, condition, timeout=WAIT):
        from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1,
                                 ignored_exceptions=(StaleElementReferenceException,)).until(
                lambda d: condition(d))
        except TimeoutException:
            self.screenshot("timeout-" + "".join(c if c.isalnum() else "-" for c in what)[:60])
            raise Failure(f"timed out after {timeout} s waiting for {what} on {self.driver.current_url}")

    # fn() read again from scratch (finding its elements anew) while a live re-render makes an
    # element it holds stale; its value once it reads through.
    def stable(self, what, fn, timeout=WAIT):
        from selenium.common.exceptions import StaleElementReferenceException
        deadline = time.monotonic() + timeout
        while True:
            try:
                return fn()
            except StaleElementReferenceException:
                if time.monotonic() > deadline:
                    raise Failure(f"{what} kept re-rendering for {timeout} s")
                time.sleep(0.1)  # the re-render is under way: read again after it

    # The list's rows and the counts, read in one script run: the page cannot re-render between
    # two reads of the same snapshot.
    def list_rows(self):
        return self.driver.execute_script("""
            return [...document.querySelectorAll('table#sagas tbody tr[data-saga-id]')].map(r => ({
              id: r.dataset.sagaId, flow: r.dataset.flow, status: r.dataset.status,
              key: (r.querySelector('td.key') || {}).textContent,
              duration: (r.querySelector('td.duration') || {}).textContent,
              failure: (r.querySelector('td.failure') || {}).textContent}));""")

    def page_counts(self):
        return self.driver.execute_script("""
            const counts = {};
            for (const c of document.querySelectorAll('#counts td.count[data-status]')) {
              (counts[c.dataset.flow] = counts[c.dataset.flow] || {})[c.dataset.status] =
                  Number(c.dataset.count);
            }
            const totals = {};
            for (const c of document.querySelectorAll('#counts td.total')) {
              totals[c.dataset.flow] = Number(c.dataset.count);
            }
            return {counts, totals};""")

    def snapshot(self, selector):
        """The first element matching selector as {attribute: value, ..., "text": its text},
        read in one script run (it may be re-rendered a moment later); waits for it."""
        def read(d):
            return d.execute_script("""
                const el = document.querySelector(arguments[0]);
                if (!el) return null;
                const out = {text: el.innerText};
                for (const a of el.attributes) out[a.name] = a.value;
                return out;""", selector)
        return self.wait(f"'{selector}'", read)

    def attribute(self, selector, name):
        """An attribute of the first element matching selector, found anew on each read."""
        def read():
            found = self.css(selector)
            return found[0].get_attribute(name) if found else None
        return self.stable(f"'{selector}'", read)

    def css(self, selector):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def one(self, selector):
        return self.wait(f"'{selector}'", lambda d: (self.css(selector) or [None])[0])

    def open(self, url):
        self.driver.get(url)

    def screenshot(self, name):
        # The whole page: the window as tall as the document.
        height = self.driver.execute_script(
            "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
        self.driver.set_window_size(1400, max(800, min(int(height) + 40, 6000)))
        path = os.path.join(self.out, name + ".png")
        self.driver.save_screenshot(path)
        self.driver.set_window_size(1400, 1000)
        self.shots.append(path)
        return path

    def collect_console(self):
        for entry in self.driver.get_log("browser"):
            self.console.append(entry)

    def token_dialog_open(self):
        return bool(self.css("dialog#token-dialog[open]"))

    def enter_token(self):
        self.one("dialog#token-dialog[open] input[name=token]").send_keys(TOKEN)
        self.one("dialog#token-dialog[open] button[type=submit]").click()
        self.wait("the token dialog to close", lambda d: not self.token_dialog_open())

    def confirm(self, reason=None):
        self.one("dialog#confirm-dialog[open]")
        if reason is not None:
            self.one("dialog#confirm-dialog[open] input[name=reason]").send_keys(reason)
        self.one("#confirm-yes").click()
        self.wait("the confirmation to close", lambda d: not self.css("dialog#confirm-dialog[open]"))

    def action_result(self):
        def done(d):
            r = self.css("#action-result")
            if r and r[0].get_attribute("data-outcome") in ("accepted", "refused"):
                return r[0]
            return None
        return self.wait("the action's outcome", done)

    def saga_page(self, url, saga_id):
        self.open(f"{url}/sagas/{saga_id}")
        self.wait("the saga page", lambda d: self.css("body[data-state=ready] svg.sequence")
                  or self.token_dialog_open())
        check(not self.token_dialog_open(), "the saga page asked for the token again")
        return self.one("svg.sequence")


# ------------------------------------------------------------------------------------------
# The checks
def test_list(b, daemon):
    b.open(daemon.url + "/")
    b.wait("the token dialog", lambda d: b.token_dialog_open())
    # Nothing has answered yet: the list and the counts say they are loading, not blank.
    check(b.css("table#sagas[data-state=loading] tbody tr.loading"), "no loading row in the list")
    check("Loading" in b.one("table#sagas tbody").text, "the loading row says nothing")
    check(b.css("#counts[data-state=loading]"), "the counts do not say they are loading")
    b.screenshot("list-loading")
    b.enter_token()
    b.wait("the list", lambda d: b.css("table#sagas[data-state=ready] tbody tr[data-saga-id]"))
    b.wait("the counts", lambda d: b.css("#counts[data-state=ready] td.total"))

    # The page's counts against the API's, both read again until they agree: a live update may
    # be on its way when the page is first read.
    def api_counts():
        status, body = daemon.api("GET", "/api/counts")
        check(status == 200, f"/api/counts: {status}")
        counts = {}
        for c in body["counts"]:
            counts.setdefault(c["flow"], {})[c["status"]] = c["count"]
        return counts

    def mismatch(expected, shown):
        for flow, statuses in expected.items():
            for st, count in statuses.items():
                on_page = shown["counts"].get(flow, {}).get(st)
                if on_page != count:
                    return f"count of {flow}/{st}: page {on_page}, API {count}"
            if shown["totals"].get(flow) != sum(statuses.values()):
                return f"total of {flow}: page {shown['totals'].get(flow)}"
        return None

    last = {}

    def agree(d):
        last["expected"] = api_counts()
        last["problem"] = mismatch(last["expected"], b.page_counts())
        return last["problem"] is None
    try:
        b.wait("the page's counts to agree with /api/counts", agree)
    except Failure:
        raise Failure(last.get("problem") or "the counts never agreed")
    expected = last["expected"]
    check(len(expected) >= 9, f"counts for {len(expected)} flows only")
    rows = b.list_rows()
    all_count = sum(sum(s.values()) for s in expected.values())
    check(len(rows) == min(50, all_count), f"{len(rows)} rows on the first page of {all_count}")
    # A value that is markup shows as text and runs nothing.
    key_cells = [r["key"] for r in rows if r["flow"] == "booking_payment"]
    check(any(k == MARKUP_KEY for k in key_cells), "the markup key is not shown as text")
    check(not b.css("table#sagas img") and not b.css("table#sagas tbody b"),
          "a key became markup")
    check(b.driver.execute_script("return window.injected") is None, "a key's markup ran")
    # Duration and failure: as the API's list gives the times and the reason.
    status, body = daemon.api("GET", "/api/sagas?limit=50")
    check(status == 200, f"list: {status}")
    by_id = {s["id"]: s for s in body["sagas"]}
    for r in rows:
        saga = by_id.get(r["id"])
        if not saga:
            continue  # a saga started since: the page shows the list it read
        check(r["duration"], f"no duration for {r['id']}")
        failure = saga["failure"]
        check(r["failure"] == (failure if failure else "—"),
              f"failure of {r['id']}: page {r['failure']!r}, API {failure!r}")
    failed = [r for r in rows if r["status"] in ("failed", "compensated")]
    check(failed and all(r["failure"] != "—" for r in failed),
          "a failed or compensated saga on the first page shows no failure")
    ended = [r for r in rows if r["status"] == "completed"]
    check(ended and all(r["duration"] and "so far" not in r["duration"] for r in ended),
          "a completed saga's duration is not its start to end")
    log(f"list: {len(rows)} sagas, counts for {len(expected)} flows")
    b.screenshot("list")
    return expected


def test_live_count(b, daemon):
    """A saga started from the page's form: its input checked against the flow's contract first,
    the server's 4xx shown as it comes; once it ends its count changes on the open page (the
    event stream, no timer)."""
    from selenium.webdriver.support.ui import Select
    flow, st = "user_registration", "completed"

    def shown():
        return b.page_counts()["counts"].get(flow, {}).get(st, 0)
    before = shown()

    def type_input(text):
        # Set as a paste would, then the input event the page listens to.
        b.driver.execute_script("""
            const t = document.querySelector('#start-form textarea[name=input]');
            t.value = arguments[0];
            t.dispatchEvent(new Event('input', {bubbles: true}));""", text)

    b.one("#start-details summary").click()
    Select(b.one("#start-form select[name=flow]")).select_by_value(flow)
    b.wait("the contract", lambda d: "email: string" in b.one("#start-contract").text)
    # The contract's template, then a value of the wrong type and an unknown field: not sent.
    b.one("#start-template").click()
    template = json.loads(b.one("#start-form textarea[name=input]").get_attribute("value"))
    check(template == {"user_id": "", "username": "", "email": ""}, f"template {template}")
    type_input(json.dumps({"user_id": 7, "username": "live-count", "nickname": "x"}))
    problems = b.wait("the contract's problems", lambda d: b.css("#start-problems:not([hidden])"))
    text = problems[0].text
    for expected in ("input.user_id: expected a string, got the integer 7",
                     "input.email: required field is missing (expected a string)",
                     "input.nickname: unknown field (expected fields: user_id, username, email)"):
        check(expected in text, f"the page's check does not say {expected!r}: {text!r}")
    check(not b.one("#start-submit").is_enabled(), "Start is offered for a refused input")
    type_input("{not json")
    b.wait("the JSON error", lambda d: "not JSON" in b.one("#start-problems").text)
    b.screenshot("start-refused-by-contract")

    # The server's own refusal, as it comes: a body above the endpoint's 1 MiB limit is a 413.
    type_input(json.dumps({"user_id": "x" * (1 << 20), "username": "big", "email": "b@x.test"}))
    b.wait("the input to pass the page's check", lambda d: b.one("#start-submit").is_enabled())
    b.one("#start-submit").click()
    refused = b.wait("the server's refusal", lambda d: b.css(
        "#start-result[data-outcome=refused]"))[0]
    check(refused.get_attribute("data-http-status") == "413",
          f"not the server's 413: {refused.get_attribute('data-http-status')} {refused.text!r}")
    check("too_large" in refused.text, f"the API's error is not shown: {refused.text!r}")

    type_input(json.dumps({"user_id": "live-count", "username": "live-count",
                           "email": "live-count@example.test"}))
    b.one("#start-form input[name=idempotency_key]").send_keys("dashboard-live-count")
    b.wait("the input to pass the page's check", lambda d: b.one("#start-submit").is_enabled())
    b.one("#start-submit").click()
    started = b.wait("the start's answer", lambda d: b.css("#start-result[data-outcome=started]"))
    saga_id = started[0].get_attribute("data-saga-id")
    check(saga_id and b.css(f'#start-result a[href="/sagas/{saga_id}"]'), "no link to the saga")
    poll("the started saga to complete", lambda: history(daemon, saga_id)["saga"]["status"] == st)
    body = history(daemon, saga_id)["saga"]
    check(body["key"] == "dashboard-live-count" and body["data"]["email"] == "live-count@example.test",
          f"the saga did not get the form's input and key: {body}")
    b.wait(f"the {flow}/{st} count to become {before + 1}", lambda d: shown() == before + 1)
    log(f"start form: {saga_id}; live count: {flow}/{st} {before} -> {before + 1}")
    b.screenshot("list-live-count")


def test_filter_and_pages(b, daemon, counts):
    from selenium.webdriver.support.ui import Select
    flow = "points_charge"
    Select(b.one("#filters select[name=flow]")).select_by_value(flow)
    b.one("#apply").click()
    b.wait("the filtered list", lambda d: b.css(
        f'table#sagas[data-state=ready][data-query="flow={flow}"]'))
    rows = b.list_rows()
    flows = {r["flow"] for r in rows}
    check(flows == {flow}, f"filtered by {flow}, the list shows {flows}")
    check(len(rows) == sum(counts[flow].values()), f"{len(rows)} {flow} sagas listed")
    check(f"flow={flow}" in b.driver.current_url, "the filter is not in the page's URL")
    log(f"filter: flow={flow} narrows the list to {len(rows)}")
    b.screenshot("list-filtered")

    # Pages of 25 through the `next` cursor.
    Select(b.one("#filters select[name=flow]")).select_by_value("")
    Select(b.one("#filters select[name=limit]")).select_by_value("25")
    b.one("#apply").click()
    b.wait("the first page of 25", lambda d: b.css(
        'table#sagas[data-state=ready][data-query="limit=25"][data-page="1"]'))
    first = [r["id"] for r in b.list_rows()]
    check(len(first) == 25, f"{len(first)} rows on a page of 25")
    b.one("#next").click()
    b.wait("the second page", lambda d: b.css('table#sagas[data-state=ready][data-page="2"]'))
    second = [r["id"] for r in b.list_rows()]
    check(second and not set(first) & set(second), "the second page repeats the first")
    b.one("#previous").click()
    b.wait("the first page again", lambda d: b.css('table#sagas[data-state=ready][data-page="1"]'))
    again = [r["id"] for r in b.list_rows()]
    check(again == first, "Previous does not come back to the first page")
    log(f"pages: {len(first)} then {len(second)} sagas")

    # A saga id's start finds it (GET /api/sagas?id_prefix=), kept in the URL like any filter.
    Select(b.one("#filters select[name=limit]")).select_by_value("50")
    target = first[3]
    prefix = target[:6]
    expected = sorted(x["id"] for x in all_sagas(daemon, id_prefix=prefix))
    def search(text, what=""):
        box = b.one("#filters input[name=id_prefix]")
        box.clear()
        box.send_keys(text)
        b.one("#apply").click()
        b.wait(f"the search for {text}", lambda d: b.css(
            f'table#sagas[data-state=ready][data-query="id_prefix={text}"]{what}'))
    search(prefix)
    found = [r["id"] for r in b.list_rows()]
    check(target in found and sorted(found) == expected,
          f"searching {prefix}: page {found}, API {expected}")
    check(f"id_prefix={prefix}" in b.driver.current_url, "the search is not in the page's URL")
    b.screenshot("list-search")
    search(target)
    check([r["id"] for r in b.list_rows()] == [target], "the whole id does not find only its saga")
    search("zz-no-such-saga", " tr.empty")
    check("No saga id starts with zz-no-such-saga" in b.one("table#sagas tbody").text,
          "an empty search does not say so")
    b.one("#reset").click()
    b.wait("the reset list", lambda d: b.css('table#sagas[data-state=ready][data-query=""]'))
    log(f"search: {prefix} finds {len(found)} saga(s), {target} itself")


def services_of(h):
    return {r["detail"]["type"].split(".")[0] for r in h
            if r["kind"] in ("command_sent", "compensation_sent")}


def test_compensated(b, daemon, saga_id):
    body = history(daemon, saga_id)
    # Before the API has answered, the page says it is loading instead of staying blank. Seen
    # with its scripts held back (a network latency does not hold the API back reliably: its
    # answer may come before the load event the driver waits for).
    b.driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        b.open(f"{daemon.url}/sagas/{saga_id}")
        check(b.one("#loading").is_displayed() and "Loading" in b.one("#loading").text,
              "the saga page shows no loading state")
        check(b.one("body").get_attribute("data-state") == "loading", "not in its loading state")
        b.screenshot("saga-loading")
    finally:
        b.driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
    b.saga_page(daemon.url, saga_id)
    check(not b.one("#loading").is_displayed(), "the loading state stays once loaded")
    check(not b.one("#retry").is_displayed() and not b.one("#cancel").is_displayed(),
          "a compensated saga offers Retry or Cancel")
    check(b.css("#in-flight-panel[hidden]"), "an ended saga shows steps in flight")
    lifelines = {g.get_attribute("data-lifeline") for g in b.css("svg.sequence g[data-lifeline]")}
    expected = {"orchestrator"} | {"service:" + s for s in services_of(body["history"])}
    check(expected <= lifelines, f"lifelines {lifelines}, expected at least {expected}")
    sent = sum(1 for r in body["history"] if r["kind"] == "compensation_sent")
    arrows = b.css('svg.sequence g.arrow[data-kind=compensation][data-compensation="true"]')
    check(len(arrows) == sent >= 1, f"{len(arrows)} compensation arrows for {sent} compensations")
    replies = b.css('svg.sequence g.arrow[data-kind="compensation-reply"]')
    check(len(replies) >= 1, "no compensation reply drawn")
    commands = b.css("svg.sequence g.arrow[data-kind=command]")
    check(len(commands) == sum(1 for r in body["history"] if r["kind"] == "command_sent"),
          "not every command is drawn")
    for a in arrows:
        to = a.get_attribute("data-to")
        check(to in lifelines and to.startswith("service:"), f"a compensation goes to {to}")
    check(b.css("svg.sequence g.note[data-kind=end]"), "no end note")
    check(b.one("body").get_attribute("data-status") == "compensated", "status not shown")
    # A message's record shows on a click.
    arrows[0].click()
    b.wait("the message's record", lambda d: b.css("#message:not([hidden]) pre"))
    log(f"compensated {saga_id}: {len(lifelines)} lifelines, {len(arrows)} compensation arrows")
    b.screenshot("saga-compensated")


def test_retried(b, daemon, saga_id):
    b.saga_page(daemon.url, saga_id)
    retries = b.css('svg.sequence g.arrow[data-kind=command][data-retry="true"]')
    check(retries, "no retried command is marked")
    check(all(int(r.get_attribute("data-attempt")) > 1 for r in retries), "a retry without its attempt")
    check(b.css("svg.sequence g.note[data-kind=retry]"), "no retry note")
    log(f"retried {saga_id}: {len(retries)} retried commands marked")
    b.screenshot("saga-retried-commands")

    # A step waiting for its next attempt: the panel of steps in flight says which attempt went
    # out and when the next one goes, as the API's `in_flight` says.
    backoff = all_sagas(daemon, flow="dashboard_backoff")[0]["id"]
    api = history(daemon, backoff)["saga"]["in_flight"]
    check(len(api) == 1 and api[0]["phase"] == "retry_backoff" and api[0]["attempt"] == 1
          and api[0]["command"] == "dashboard_nobody.ask" and api[0]["next_attempt_at"],
          f"the API's in_flight: {api}")
    b.saga_page(daemon.url, backoff)
    row = b.snapshot('#in-flight tr[data-step="ask_nobody"]')
    check(row.get("data-phase") == "retry_backoff", "the step is not waiting to retry")
    check(row.get("data-attempt") == "1", "not its first attempt")
    check(row.get("data-next-attempt-at") == api[0]["next_attempt_at"],
          "the next attempt's time is not the API's")
    text = row["text"]
    check("waiting to retry" in text and "dashboard_nobody.ask" in text
          and " min " in text and "after its last change" in text,
          f"the in-flight row reads {text!r}")
    check(b.one("#cancel").is_displayed() and not b.one("#retry").is_displayed(),
          "a running saga before any pivot does not offer Cancel only")
    log(f"in flight {backoff}: {text!r}")
    b.screenshot("saga-in-flight-retry")


def test_retry_parked(b, daemon, saga_id):
    b.saga_page(daemon.url, saga_id)
    check(b.one("body").get_attribute("data-status") == "failed", "the probe saga is not failed")
    check(b.css("#failure:not([hidden])"), "the failure is not shown")
    check(b.one("#retry").is_displayed() and not b.one("#cancel").is_displayed(),
          "a parked saga does not offer Retry only")
    b.screenshot("saga-failed")
    b.one("#retry").click()
    b.confirm()
    result = b.action_result()
    check(result.get_attribute("data-outcome") == "accepted",
          f"the retry was refused: {result.text}")
    check("Retry accepted" in result.text, f"the outcome reads {result.text!r}")
    # The step is sent again and fails again: the page follows it to failed, with the operator's
    # retry in the diagram.
    b.wait("the retried saga to park again", lambda d: b.css(
        "body[data-status=failed] svg.sequence g.arrow[data-kind=operator]"))
    attempts = b.css('svg.sequence g.arrow[data-kind=command][data-step="create_again"]')
    check(len(attempts) == 2, f"{len(attempts)} sends of create_again after the retry")
    log(f"retry of parked {saga_id}: {result.text}")
    b.screenshot("saga-retry-outcome")


def test_retry_refused(b, daemon, saga_id):
    """A completed saga offers neither Retry nor Cancel, and says why."""
    b.saga_page(daemon.url, saga_id)
    check(b.one("body").get_attribute("data-status") == "completed", "the saga is not completed")
    check(not b.one("#retry").is_displayed(), "a completed saga offers Retry")
    check(not b.one("#cancel").is_displayed(), "a completed saga offers Cancel")
    hint = b.one("#actions-hint").text
    check("ended completed" in hint, f"the page does not say why: {hint!r}")
    check(b.css("#event-panel[hidden]"), "a completed saga offers to send an event")
    log(f"completed {saga_id}: no Retry, no Cancel ({hint})")
    b.screenshot("saga-completed-no-actions")


def test_cancel(b, daemon, saga_id):
    b.saga_page(daemon.url, saga_id)
    check(b.one("body").get_attribute("data-status") == "waiting", "the booking is not waiting")
    check(MARKUP_KEY in b.one("#fields").text and not b.css("#fields img"),
          "the markup key is not shown as text")
    check(b.css("svg.sequence g.note[data-kind=wait]"), "the wait is not drawn")
    check(b.css("svg.sequence g[data-lifeline=events]"), "no events lifeline for the wait")
    check(b.one("#cancel").is_displayed() and not b.one("#retry").is_displayed(),
          "a waiting saga before its pivot does not offer Cancel only")
    # The wait in flight: the events it takes and its key, as the API says.
    wait = [s for s in history(daemon, saga_id)["saga"]["in_flight"]
            if s["phase"] == "waiting_event"]
    check(len(wait) == 1 and wait[0]["events"] == ["payment.succeeded"]
          and wait[0]["failure_events"] == ["payment.failed"]
          and wait[0]["key_path"] == "$event.payment_id" and wait[0]["timeout_at"],
          f"the API's wait in flight: {wait}")
    row = b.snapshot('#in-flight tr[data-phase="waiting_event"]')
    check(row.get("data-step") == "await_payment" and
          row.get("data-events") == "payment.succeeded", f"the wait's row: {row}")
    check(wait[0]["key"] in row["text"], "the wait's key is not shown")
    b.screenshot("saga-waiting")

    # Send one of the events it waits for: payment.failed, which it records and keeps waiting
    # (on_failure_event: keep_waiting). The payload starts with the saga's key.
    from selenium.webdriver.support.ui import Select
    b.one("#event-panel:not([hidden])")
    options = [o.get_attribute("value") for o in b.css("#event-form select[name=type] option")]
    check(options == ["payment.succeeded", "payment.failed"], f"the events offered: {options}")
    Select(b.one("#event-form select[name=type]")).select_by_value("payment.failed")
    payload = json.loads(b.one("#event-form textarea[name=payload]").get_attribute("value"))
    check(payload == {"payment_id": wait[0]["key"]}, f"the payload starts as {payload}")
    b.driver.execute_script("""
        const t = document.querySelector('#event-form textarea[name=payload]');
        t.value = arguments[0];
        t.dispatchEvent(new Event('input', {bubbles: true}));""",
        json.dumps({"payment_id": wait[0]["key"], "reason": "card declined (dashboard test)"}))
    b.one("#event-submit").click()
    sent = b.wait("the event's answer", lambda d: b.css(
        "#event-result[data-outcome=accepted], #event-result[data-outcome=refused]"))[0]
    check(sent.get_attribute("data-outcome") == "accepted", f"the event was refused: {sent.text}")
    check("payment.failed" in sent.text, f"the answer reads {sent.text!r}")
    b.wait("the saga to record the failed payment", lambda d: b.css(
        'body[data-status=waiting] #history tr[data-kind="failure_event"]'))
    accepted = [r for r in history(daemon, saga_id)["history"] if r["kind"] == "failure_event"]
    check(len(accepted) == 1, f"the saga recorded {len(accepted)} failed payments")
    log(f"event sent to waiting {saga_id}: {sent.text}")
    b.screenshot("saga-event-sent")
    b.one("#cancel").click()
    b.confirm(reason="dashboard test")
    result = b.action_result()
    check(result.get_attribute("data-outcome") == "accepted", f"the cancel was refused: {result.text}")
    check(result.get_attribute("data-status") in ("compensating", "cancelled"),
          f"after cancel the saga is {result.get_attribute('data-status')}")
    b.wait("the saga to end cancelled", lambda d: b.css(
        "body[data-status=cancelled] svg.sequence g.note[data-kind=end]"))
    check(b.css("svg.sequence g.arrow[data-kind=operator]"), "the cancel request is not drawn")
    check(len(b.css("svg.sequence g.arrow[data-kind=compensation]")) >= 2,
          "the payment and the booking were not both compensated")
    status = history(daemon, saga_id)["saga"]["status"]
    check(status == "cancelled", f"the API says {status}")
    log(f"cancel of waiting {saga_id}: {result.text}; now cancelled")
    b.screenshot("saga-cancelled")


def test_pause_bulk_and_audit(b, daemon):
    """Pause and Resume on a saga's page, a bulk resume (dry run, then apply) on the list page,
    and the Audit page naming who did them (controls.js, audit.js)."""
    status, body = daemon.api("POST", "/api/sagas", {
        "flow": "booking_payment", "idempotency_key": "dashboard-pause",
        "input": {"customer_id": "dashboard-pause", "slot_id": "mon-10", "amount": 900},
        "wait": {"step": "create_payment"}, "timeout_ms": 30000})
    check(status == 201, f"starting a booking to pause: {status} {body}")
    saga_id = body["id"]
    poll("the booking to wait", lambda: history(daemon, saga_id)["saga"]["status"] == "waiting")

    b.open(daemon.url + "/audit")
    actor = b.one("#actor")
    actor.clear()
    actor.send_keys("dash-tester")
    b.one("#actor-save").click()

    b.saga_page(daemon.url, saga_id)
    b.wait("Pause to be enabled", lambda d: b.one("#pause").is_enabled())
    check(not b.one("#resume").is_enabled(), "Resume is enabled on a waiting saga")
    b.one("#pause").click()
    b.wait("the saga page to show it paused", lambda d: b.css("body[data-status=paused]"))
    check("Paused" in b.one("#pause-result").text, f"pause result: {b.one('#pause-result').text}")
    check(history(daemon, saga_id)["saga"]["status"] == "paused", "the API does not say paused")
    b.wait("the pause drawn as the operator's", lambda d: b.css(
        'svg.sequence g.arrow[data-kind="operator-pause"][data-from="operator"]'))
    b.wait("Resume to be enabled", lambda d: b.one("#resume").is_enabled())
    b.screenshot("saga-paused")
    b.one("#resume").click()
    b.wait("the saga to wait again", lambda d: b.css("body[data-status=waiting]"))
    check(history(daemon, saga_id)["saga"]["status"] == "waiting", "the API does not say waiting")

    # Bulk: pause it through the API, then resume every paused saga from the list page.
    status, body = daemon.api("POST", f"/api/sagas/{saga_id}/pause", {"reason": "bulk test"})
    check(status == 200, f"pausing through the API: {status} {body}")
    b.open(daemon.url + "/")
    b.wait("the list", lambda d: b.css("#sagas tbody tr"))
    from selenium.webdriver.support.ui import Select
    Select(b.one("#bulk-action")).select_by_value("resume")
    b.one("#bulk-preview").click()
    count = b.wait("the dry run's count", lambda d: (b.css("#bulk-count") or [None])[0])
    check(count.text == "resume would take 1 saga", f"dry run says: {count.text}")
    check(b.css(f"#bulk-result li[data-id='{saga_id}']"), "the dry run does not list the saga")
    check(history(daemon, saga_id)["saga"]["status"] == "paused", "the dry run changed the saga")
    b.screenshot("bulk-dry-run")
    b.wait("Apply to be enabled", lambda d: b.one("#bulk-apply").is_enabled())
    b.one("#bulk-apply").click()
    done = b.wait("the bulk answer", lambda d: (b.css("#bulk-done") or [None])[0])
    check(done.text == "resumed 1, refused 0", f"bulk answer: {done.text}")
    check(history(daemon, saga_id)["saga"]["status"] == "waiting", "the bulk resume did not resume")

    b.open(daemon.url + "/audit")
    b.wait("the audit rows", lambda d: b.css("#audit tbody tr"))
    rows = [(r.find_element("css selector", ".actor").text,
             r.find_element("css selector", ".action").text,
             r.find_element("css selector", ".result-status").text)
            for r in b.css("#audit tbody tr")]
    check(("dash-tester", "POST /api/sagas/resume", "200") in rows, f"audit rows: {rows[:6]}")
    check(("dash-tester", f"POST /api/sagas/{saga_id}/pause", "200") in rows,
          f"the page's pause is not audited: {rows[:6]}")
    check(("anonymous", f"POST /api/sagas/{saga_id}/pause", "200") in rows,
          f"the API's pause is not audited: {rows[:6]}")
    b.screenshot("audit")
    log(f"pause, resume, bulk resume and audit of {saga_id}: ok")


# A flow that parks past its pivot when `second` is taken; `welcome` reads
# $steps.create_second.user_id, so a skip must give that field.
REPAIR_FLOW = """name: dashboard_repair
version: 1
description: Parks when second is taken, for the dashboard's Skip step and Edit data
input:
  user: string
  email: string
  second: string
  second_email: string
steps:
  - name: create_user
    pivot: true
    irreversible: true
    command: { service: users, name: create, input: { user_id: $input.user, username: $input.user, email: $input.email } }
  - name: create_second
    irreversible: true
    command: { service: users, name: create, input: { user_id: $input.second, username: $input.second, email: $input.second_email } }
    output: { user_id: $reply.user_id }
  - name: welcome
    irreversible: true
    command: { service: notifications, name: save_user, input: { user_id: $steps.create_second.user_id, email: $input.email, name: $input.user } }
"""


def test_skip_and_edit(b, daemon):
    def parked(user):
        status, body = daemon.api("POST", "/api/sagas", {
            "flow": "dashboard_repair", "wait": {"end": True}, "timeout_ms": 30000,
            "input": {"user": user, "email": user + "@example.org", "second": user,
                      "second_email": user + "@example.org"}})
        check(status == 201 and body["status"] == "failed", f"{user} did not park: {status} {body}")
        return body["id"]

    def submit(form, button):
        b.one(button).click()
        def done(d):
            r = b.css("#repair-result")
            if r and r[0].get_attribute("data-outcome") in ("accepted", "refused", "invalid"):
                return r[0]
            return None
        return b.wait(f"the outcome of {form}", done)

    def type_into(selector, text):
        el = b.one(selector)
        el.clear()
        el.send_keys(text)

    status, body = daemon.api("POST", "/api/flows", REPAIR_FLOW, "application/yaml")
    check(status in (200, 201), f"deploying the repair flow: {status} {body}")

    # Skip: an output without the field welcome reads is refused with the API's 422 naming it;
    # with it, the saga goes on and completes.
    skipped = parked("repair-skip")
    b.saga_page(daemon.url, skipped)
    b.wait("the repair section", lambda d: b.css("#repair-panel:not([hidden])"))
    type_into("#skip-output", '{"id": "nobody"}')
    type_into("#repair-actor", "dashboard-operator")
    type_into("#repair-reason", "created by hand")
    result = submit("the skip", "#skip")
    check(result.get_attribute("data-outcome") == "refused", f"the bad skip was accepted: {result.text}")
    check(result.get_attribute("data-http-status") == "422", "not the API's 422")
    check("output.user_id" in result.text, f"the missing field is not named: {result.text!r}")
    b.screenshot("saga-skip-refused")
    type_into("#skip-output", '{"user_id": "repair-skip-by-hand"}')
    result = submit("the skip", "#skip")
    check(result.get_attribute("data-outcome") == "accepted", f"the skip was refused: {result.text}")
    b.wait("the skipped saga to complete", lambda d: b.css("body[data-status=completed]"))
    saga = history(daemon, skipped)
    skip = [r for r in saga["history"] if r["kind"] == "operator_skip"]
    check(len(skip) == 1 and skip[0]["step"] == "create_second"
          and skip[0]["detail"]["actor"] == "dashboard-operator"
          and skip[0]["detail"]["reason"] == "created by hand",
          f"the skip's history record: {skip}")
    check(saga["saga"]["steps"]["welcome"] is not None
          and saga["saga"]["steps"]["create_second"] == {"user_id": "repair-skip-by-hand"},
          f"the steps after the skip: {saga['saga']['steps']}")
    log(f"skip of {skipped}: {result.text}")
    # The skip on the sequence diagram: an arrow from the Operator naming the step and who, the
    # reason under it or (cut to fit) in its title with the record's whole detail.
    arrows = b.wait("the skip drawn on the sequence", lambda d: b.css(
        'svg.sequence g.arrow[data-kind="operator-skip"][data-from="operator"]'
        '[data-step="create_second"][data-actor="dashboard-operator"]'))
    drawn = arrows[0].get_attribute("textContent")
    check("skip create_second" in drawn and "by dashboard-operator" in drawn,
          f"the skip arrow says {drawn!r}")
    check("created by hand" in drawn and "repair-skip-by-hand" in drawn,
          f"the skip's reason or output is not on its arrow (title included): {drawn!r}")
    check(b.css('svg.sequence [data-lifeline="operator"]'), "no Operator lifeline")
    b.screenshot("saga-skipped")

    # Edit data: the input is shown; a merge with a fresh second user, then retry, completes.
    edited = parked("repair-edit")
    b.saga_page(daemon.url, edited)
    b.wait("the repair section", lambda d: b.css("#repair-panel:not([hidden])"))
    shown = b.wait("the input in the editor", lambda d: b.one("#edit-input").get_attribute("value"))
    check(json.loads(shown)["second"] == "repair-edit", f"the editor holds {shown!r}")
    type_into("#edit-input", '{"second": "repair-edit-2", "second_email": "other@example.org"}')
    type_into("#repair-reason", "second user was taken")
    result = submit("the edit", "#edit")
    check(result.get_attribute("data-outcome") == "accepted", f"the edit was refused: {result.text}")
    b.wait("the edited saga to complete", lambda d: b.css("body[data-status=completed]"))
    saga = history(daemon, edited)
    kinds = [r["kind"] for r in saga["history"]]
    check("operator_edit" in kinds and "operator_retry" in kinds, f"history kinds: {kinds}")
    check(saga["saga"]["data"]["second"] == "repair-edit-2", f"the input: {saga['saga']['data']}")
    log(f"edit of {edited}: {result.text}")
    edit = [r for r in saga["history"] if r["kind"] == "operator_edit"][0]
    arrows = b.wait("the edit drawn on the sequence", lambda d: b.css(
        'svg.sequence g.arrow[data-kind="operator-edit"][data-from="operator"]'))
    check(arrows[0].get_attribute("data-actor") == edit["detail"]["actor"],
          f"the edit arrow's actor {arrows[0].get_attribute('data-actor')!r}, history {edit}")
    drawn = arrows[0].get_attribute("textContent")
    check("edit input (merge)" in drawn and "second user was taken" in drawn,
          f"the edit arrow says {drawn!r}")
    b.screenshot("saga-edited")


# A paused flow (POST /api/flows/{name}/pause) is marked in the counts table of the list page,
# as GET /api/flows' `paused` says; resumed, the mark goes.
def test_flow_paused_in_list(b, daemon):
    status, body = daemon.api("POST", "/api/flows/dashboard_repair/pause", {"reason": "test"})
    check(status == 200 and body == {"flow": "dashboard_repair", "paused": True},
          f"pausing the flow: {status} {body}")
    status, body = daemon.api("GET", "/api/flows")
    paused = {f["name"]: f["paused"] for f in body["flows"]}
    check(paused.get("dashboard_repair") is True and paused.get("order_payment") is False,
          f"GET /api/flows' paused: {paused}")
    b.open(daemon.url + "/")
    row = b.wait("the paused flow marked", lambda d: b.css(
        '#counts[data-state=ready] tr[data-flow="dashboard_repair"][data-paused="true"]'))
    check("flow paused" in row[0].text, f"the paused flow's row says {row[0].text!r}")
    check(b.css('#counts tr[data-flow="order_payment"][data-paused="false"]')
          and not b.css('#counts tr[data-flow="order_payment"] .flow-paused'),
          "a flow that is not paused is marked")
    b.screenshot("list-flow-paused")
    status, body = daemon.api("POST", "/api/flows/dashboard_repair/resume")
    check(status == 200 and body["paused"] is False, f"resuming the flow: {status} {body}")
    b.open(daemon.url + "/")
    b.wait("the resumed flow unmarked", lambda d: b.css(
        '#counts[data-state=ready] tr[data-flow="dashboard_repair"][data-paused="false"]'))
    check(not b.css("#counts .flow-paused"), "a flow is still marked paused")
    log("flow pause shown in the counts: ok")


# ------------------------------------------------------------------------------------------
# ------------------------------------------------------------------------------------------
# The Services page (/services, services.js): a service that nobody serves, with a command in
# flight, is flagged "no consumer"; a served one is not.
GHOST_FLOW = """name: dashboard_ghost
version: 1
description: Commands a service no participant serves, for the Services page's warning
input:
  ref: string
steps:
  - name: ping
    irreversible: true
    command:
      service: ghost_service
      name: ping
      input: { ref: $input.ref }
"""


def test_services_page(b, daemon):
    status, body = daemon.api("POST", "/api/flows", GHOST_FLOW, "application/yaml")
    check(status in (200, 201), f"deploying the ghost flow: {status} {body}")
    status, body = daemon.api("POST", "/api/sagas", {"flow": "dashboard_ghost",
                                                     "input": {"ref": "ghost-1"}})
    check(status in (201, 202), f"starting the ghost saga: {status} {body}")
    poll("the API to flag ghost_service",
         lambda: "ghost_service" in daemon.api("GET", "/api/services")[1]["without_consumer"])
    b.open(f"{daemon.url}/services")
    if b.token_dialog_open():
        b.enter_token()
    b.wait("the services table", lambda d: b.css("table#services[data-state=loaded]"))
    ghost = b.one('tr[data-service="ghost_service"]')
    check("warning" in (ghost.get_attribute("class") or ""), "ghost_service is not highlighted")
    check("no consumer" in ghost.text, f"ghost_service's row reads {ghost.text!r}")
    banner = b.one("#services-warning")
    check(banner.is_displayed() and "ghost_service" in banner.text,
          f"the banner reads {banner.text!r}")
    served = b.one('tr[data-service="users"]')
    check("no consumer" not in served.text, f"users is flagged: {served.text!r}")
    cells = served.find_elements("css selector", "td")
    check(cells[1].text == "1", f"users shows {cells[1].text} consumers, expected 1")
    b.screenshot("services")
    log(f"services page: ghost_service flagged, users served ({served.text})")


SUBFLOW_CHILD = """name: dashboard_sub_child
version: 1
steps:
  - name: announce
    publish: { event: dashboard_sub.announced, payload: { ref: $input.ref } }
"""

SUBFLOW_PARENT = """name: dashboard_sub_parent
version: 1
steps:
  - name: child
    subflow:
      flow: dashboard_sub_child
      input: { ref: $input.ref }
"""


def test_subflow_links(b, daemon):
    """A parent's page links to its child saga, and the child's page back to its parent."""
    status, body = daemon.api("POST", "/api/flows", SUBFLOW_PARENT, "application/yaml")
    check(status == 422 and "not deployed" in json.dumps(body),
          f"a parent deployed before its child flow: {status} {body}")
    for text in (SUBFLOW_CHILD, SUBFLOW_PARENT):
        status, body = daemon.api("POST", "/api/flows", text, "application/yaml")
        check(status in (200, 201), f"deploying a sub-flow: {status} {body}")
    status, body = daemon.api("POST", "/api/sagas", {"flow": "dashboard_sub_parent",
                                                     "input": {"ref": "sub-1"}})
    check(status in (201, 202), f"starting the parent: {status} {body}")
    parent = body["id"]
    poll("the parent to complete",
         lambda: history(daemon, parent)["saga"]["status"] == "completed")
    child = history(daemon, parent)["saga"]["children"][0]["id"]
    b.saga_page(daemon.url, parent)
    b.wait("the parent's child link", lambda d: b.css("#subflow-links a.child-link"))
    b.one("#subflow-links a.child-link").get_attribute("href")  # settled
    b.one("#subflow-links a.child-link").click()
    b.wait("the child's page", lambda d: b.css("#subflow-links a.parent-link")
           and child in b.one("#fields").text)
    link = b.one("#subflow-links a.parent-link")
    check(link.text == parent, f"the child's parent link reads {link.text!r}, expected {parent}")
    b.screenshot("subflow-child")
    log(f"sub-flows: parent {parent} links to child {child} and back")


# The Schedules page (/schedules, schedules.js): a schedule deployed through the API is listed
# with its next firing; Pause, Resume and Delete (after the browser's confirmation) change it.
def test_schedules_page(b, daemon):
    status, body = daemon.api("PUT", "/api/schedules/new-year", {
        "flow": "dashboard_ghost", "cron": "0 0 1 1 *", "zone": "Europe/Berlin",
        "input": {"ref": "scheduled"}})
    check(status == 201, f"deploying the schedule: {status} {body}")
    check(body["schedule"]["next_fire"] is not None, f"no next_fire: {body}")
    b.open(f"{daemon.url}/schedules")
    if b.token_dialog_open():
        b.enter_token()
    row = 'tr[data-name="new-year"]'
    b.wait("the schedule's row", lambda d: b.css(row))
    text = b.one(row).text
    check("dashboard_ghost" in text and "0 0 1 1 *" in text and "Europe/Berlin" in text,
          f"the row reads {text!r}")
    check(b.one(row + " td.state").text == "active", "the schedule is not shown active")
    b.one(row + " button.pause").click()
    b.wait("the row to read paused",
           lambda d: b.css(row) and b.one(row + " td.state").text == "paused")
    check(daemon.api("GET", "/api/schedules/new-year")[1]["schedule"]["paused"] is True,
          "the API does not say paused")
    b.screenshot("schedules-paused")
    b.one(row + " button.resume").click()
    b.wait("the row to read active",
           lambda d: b.css(row) and b.one(row + " td.state").text == "active")
    check(daemon.api("GET", "/api/schedules/new-year")[1]["schedule"]["paused"] is False,
          "the API does not say active")
    b.one(row + " button.delete").click()
    b.wait("the confirmation", lambda d: _alert(d) is not None)
    _alert(b.driver).accept()
    b.wait("the row to go", lambda d: not b.css(row))
    check(daemon.api("GET", "/api/schedules/new-year")[0] == 404, "the schedule is still there")
    check(b.one("#schedules-empty").is_displayed(), "the page does not say there are none")
    log("schedules page: listed, paused, resumed, deleted")


# A delayed start from the list's start form: answered pending with its start_at, and it stays
# pending (no command sent) until then; cancelled, it never starts. (The demo's clock runs ahead
# of the browser's, so the time is a year away: the engine and production-pair tests see one
# start at its time.)
def test_delayed_start(b, daemon):
    from selenium.webdriver.support.ui import Select
    b.open(f"{daemon.url}/")
    if b.token_dialog_open():
        b.enter_token()
    b.one("#start-details summary").click()
    Select(b.one("#start-form select[name=flow]")).select_by_value("user_registration")
    b.wait("the contract", lambda d: "email: string" in b.one("#start-contract").text)
    b.driver.execute_script("""
        const t = document.querySelector('#start-form textarea[name=input]');
        t.value = arguments[0];
        t.dispatchEvent(new Event('input', {bubbles: true}));""",
        json.dumps({"user_id": "later", "username": "later", "email": "later@example.test"}))
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 365 * 86400))
    b.one("#start-form input[name=start_at]").send_keys(at)
    b.wait("the input to pass the page's check", lambda d: b.one("#start-submit").is_enabled())
    b.one("#start-submit").click()
    started = b.wait("the start's answer", lambda d: b.css("#start-result[data-outcome=started]"))
    saga_id = started[0].get_attribute("data-saga-id")
    check("pending" in started[0].text, f"the answer is not pending: {started[0].text!r}")
    b.screenshot("start-delayed")
    body = history(daemon, saga_id)
    check(body["saga"]["status"] == "pending", f"not pending: {body['saga']}")
    check(body["saga"]["start_at"].startswith(at[:19]), f"start_at: {body['saga']}")
    kinds = [h["kind"] for h in body["history"]]
    check(kinds == ["saga_scheduled"], f"history {kinds}")
    status, answer = daemon.api("POST", f"/api/sagas/{saga_id}/cancel", {"reason": "not needed"})
    check(status == 200, f"cancel: {status} {answer}")
    poll("the delayed saga to be cancelled",
         lambda: history(daemon, saga_id)["saga"]["status"] == "cancelled")
    kinds = [h["kind"] for h in history(daemon, saga_id)["history"]]
    check("saga_started" not in kinds, f"it started: {kinds}")
    log(f"delayed start from the form: {saga_id} pending until {at}, then cancelled")


def _alert(driver):
    from selenium.common.exceptions import NoAlertPresentException
    try:
        alert = driver.switch_to.alert
        alert.text  # raises when there is none
        return alert
    except NoAlertPresentException:
        return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sagaflowd", required=True)
    parser.add_argument("--flows", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    args.sagaflowd, args.flows, args.out = map(os.path.abspath, (args.sagaflowd, args.flows, args.out))

    os.makedirs(args.out, exist_ok=True)
    for name in os.listdir(args.out):
        if name.endswith((".png", ".log", ".out")):
            os.remove(os.path.join(args.out, name))
    workdir = tempfile.mkdtemp(prefix="sagaflow-dashboard-")
    daemon = None
    browser = None
    ok = False
    try:
        chromium, chromedriver = require_tools()
        check(os.access(args.sagaflowd, os.X_OK), f"{args.sagaflowd} is not executable")
        daemon = Daemon(args.sagaflowd, args.flows, workdir, args.out)
        daemon.start()
        log(f"sagaflowd --demo ready at {daemon.url}")
        sagas = prepare(daemon)
        log("sagas: " + ", ".join(f"{k} {v}" for k, v in sagas.items()))

        browser = Browser(chromium, chromedriver, args.out, os.path.join(workdir, "profile"))
        counts = test_list(browser, daemon)
        test_live_count(browser, daemon)
        test_filter_and_pages(browser, daemon, counts)
        test_compensated(browser, daemon, sagas["compensated"])
        test_retried(browser, daemon, sagas["retried"])
        test_retry_parked(browser, daemon, sagas["failed"])
        test_retry_refused(browser, daemon, sagas["completed"])
        test_cancel(browser, daemon, sagas["waiting"])
        test_pause_bulk_and_audit(browser, daemon)
        test_services_page(browser, daemon)
        test_schedules_page(browser, daemon)
        test_delayed_start(browser, daemon)
        test_skip_and_edit(browser, daemon)
        test_subflow_links(browser, daemon)
        test_flow_paused_in_list(browser, daemon)

        browser.collect_console()
        broken = [e for e in browser.console
                  if "Content Security Policy" in e.get("message", "")
                  or "Uncaught" in e.get("message", "")]
        check(not broken, "the browser's console reports: " + json.dumps(broken, indent=1))
        ok = True
    except Failure as e:
        print(f"FAILED: {e}", file=sys.stderr)
    except Exception:  # a WebDriver error, say: the test fails with its trace
        traceback.print_exc()
    finally:
        if browser:
            try:
                browser.collect_console()
                with open(os.path.join(args.out, "console.log"), "w") as f:
                    json.dump(browser.console, f, indent=1)
            except Exception:
                pass
            for path in browser.shots:
                print(f"screenshot: {path}")
            try:
                browser.quit()
            except Exception:
                pass
        if daemon:
            daemon.stop()
            if not ok:
                print(f"sagaflowd's log: {os.path.join(args.out, 'sagaflowd.log')}", file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)
    print("dashboard_in_headless_chromium: " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
