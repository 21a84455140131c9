// The saga list (GET /): filters (a saga id or its start among them) kept in the page's URL,
// pages through the API's `next` cursor, each saga's duration and failure; the counts per flow
// and status, read again when the event stream says a saga changed (at most every
// COUNTS_AT_MOST_MS), a paused flow marked "flow paused" (GET /api/flows' `paused`, read with
// them); and a form that starts a saga, its input checked against the flow's
// input contract before it is sent.
"use strict";

(() => {
  const {h, fill, api, watch, statusBadge, time, json, showError, STATUSES, duration,
         sagaDuration, checkInput, inputTemplate, outcomePending, outcomeRefused} = Sagaflow;
  const COUNTS_AT_MOST_MS = 250;
  const COLUMNS = 8;
  const FILTERS = ["id_prefix", "flow", "status", "key", "from", "to", "limit"];
  const NO_FILTER = {id_prefix: "", flow: "", status: "", key: "", from: "", to: "", limit: ""};

  const form = document.getElementById("filters");
  const table = document.getElementById("sagas");
  const tbody = table.querySelector("tbody");
  const listError = document.getElementById("list-error");
  const buttons = {
    first: document.getElementById("first"),
    previous: document.getElementById("previous"),
    next: document.getElementById("next"),
  };
  const pageInfo = document.getElementById("page-info");

  // Where the list is: the cursors of the pages before this one (empty: the first page), this
  // page's cursor, and the next page's.
  let before = [];
  let after = "";
  let next = null;
  let knownFlows = new Set();
  let flowContracts = new Map();  // flow name -> its latest version's input contract (or null)
  let pausedFlows = new Set();  // as of the last read of GET /api/flows

  // ---------------------------------------------------------------------------------------
  // Filters <-> URL <-> form. Times: the form's datetime-local in UTC, the URL and the API's
  // RFC 3339.
  function toRfc3339(local) {
    if (!local) return "";
    return (local.length === 16 ? local + ":00" : local) + "Z";
  }
  function toLocalInput(rfc3339) {
    const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?)/.exec(rfc3339 || "");
    return m ? m[1] : "";
  }

  function filtersFromUrl() {
    const params = new URLSearchParams(location.search);
    const f = {};
    for (const name of FILTERS) f[name] = params.get(name) || "";
    return f;
  }

  function filtersFromForm() {
    const data = new FormData(form);
    return {
      id_prefix: (data.get("id_prefix") || "").trim(),
      flow: data.get("flow") || "",
      status: data.get("status") || "",
      key: (data.get("key") || "").trim(),
      from: toRfc3339(data.get("from")),
      to: toRfc3339(data.get("to")),
      limit: data.get("limit") === "50" ? "" : data.get("limit") || "",
    };
  }

  function ensureOption(select, value) {
    if (value && ![...select.options].some((o) => o.value === value)) {
      select.append(h("option", {value}, value));
    }
  }

  function showFilters(f) {
    ensureOption(form.elements.flow, f.flow);
    form.elements.id_prefix.value = f.id_prefix;
    form.elements.flow.value = f.flow;
    form.elements.status.value = f.status;
    form.elements.key.value = f.key;
    form.elements.from.value = toLocalInput(f.from);
    form.elements.to.value = toLocalInput(f.to);
    form.elements.limit.value = f.limit || "50";
  }

  function query(f, cursor) {
    const params = new URLSearchParams();
    for (const name of FILTERS) if (f[name]) params.set(name, f[name]);
    if (cursor) params.set("after", cursor);
    return params.toString();
  }

  // ---------------------------------------------------------------------------------------
  // The list
  let loads = 0;  // only the latest load shows its answer
  async function loadPage() {
    const mine = ++loads;
    const f = filtersFromUrl();
    const q = query(f, after);
    // Loading: the rows shown stay (dimmed) until the answer replaces them; an empty table
    // says so rather than staying blank.
    table.dataset.state = "loading";
    if (!tbody.querySelector("tr[data-saga-id]")) {
      fill(tbody, h("tr", {class: "loading"}, h("td", {colspan: COLUMNS}, "Loading sagas…")));
    }
    listError.hidden = true;
    try {
      const page = await api("/api/sagas" + (q ? "?" + q : ""));
      if (mine !== loads) return;
      next = page.next;
      const now = Date.now();
      fill(tbody, page.sagas.map((saga) => row(saga, now)));
      if (page.sagas.length === 0) {
        fill(tbody, h("tr", {class: "empty"}, h("td", {colspan: COLUMNS},
                                                f.id_prefix ? `No saga id starts with ${f.id_prefix}.`
                                                            : "No saga matches.")));
      }
      const number = before.length + 1;
      fill(pageInfo, `page ${number}, ${page.sagas.length} saga${page.sagas.length === 1 ? "" : "s"}`);
      table.dataset.state = "ready";
    } catch (error) {
      if (mine !== loads) return;
      next = null;
      fill(tbody);
      showError(listError, error);
      table.dataset.state = "error";
    }
    table.dataset.query = query(f, "");
    table.dataset.page = String(before.length + 1);
    buttons.first.disabled = before.length === 0;
    buttons.previous.disabled = before.length === 0;
    buttons.next.disabled = !next;
  }

  const dash = () => h("span", {class: "muted"}, "—");

  function row(saga, now) {
    const link = h("a", {href: "/sagas/" + encodeURIComponent(saga.id)}, saga.id);
    const took = sagaDuration(saga, now);
    return h("tr", {"data-saga-id": saga.id, "data-flow": saga.flow, "data-status": saga.status},
             h("td", {class: "id"}, link),
             h("td", {}, saga.flow, h("span", {class: "muted"}, " v" + saga.flow_version)),
             h("td", {}, statusBadge(saga.status)),
             h("td", {class: "key"}, saga.key === null ? dash() : saga.key),
             h("td", {class: "time"}, time(saga.created_at)),
             h("td", {class: "time"}, time(saga.updated_at)),
             h("td", {class: "duration", "data-ms": took.ms,
                      title: took.ended ? "start to end" : "so far: the saga has not ended"},
               // "—" when the daemon's clock is ahead of the browser's (the demo's jumps).
               duration(took.ms) || dash(),
               took.ended || took.ms < 0 ? "" : h("span", {class: "muted"}, " so far")),
             h("td", {class: "failure"}, saga.failure ? saga.failure : dash()));
  }

  function applyFilters(f, push) {
    const q = query(f, "");
    const url = location.pathname + (q ? "?" + q : "");
    if (push) history.pushState(null, "", url);
    before = [];
    after = "";
    showFilters(f);
    loadPage();
    refreshCounts();  // the counts highlight the filtered cells
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    applyFilters(filtersFromForm(), true);
  });
  document.getElementById("reset").addEventListener("click", () => {
    applyFilters(NO_FILTER, true);
  });
  window.addEventListener("popstate", () => applyFilters(filtersFromUrl(), false));

  buttons.next.addEventListener("click", () => {
    if (!next) return;
    before.push(after);
    after = next;
    loadPage();
  });
  buttons.previous.addEventListener("click", () => {
    if (before.length === 0) return;
    after = before.pop();
    loadPage();
  });
  buttons.first.addEventListener("click", () => {
    before = [];
    after = "";
    loadPage();
  });

  // ---------------------------------------------------------------------------------------
  // Counts: a flow per row, a status per column, each cell a link to that filter.
  const countsBox = document.getElementById("counts");
  const countsUpdated = document.getElementById("counts-updated");
  let countsTimer = null;
  let countsRound = 0;  // a refresh asked while one is out supersedes it

  function filterLink(flow, status, text) {
    const q = query({flow, status}, "");
    return h("a", {href: "/" + (q ? "?" + q : ""), class: "filter-link"}, text);
  }

  function renderCounts(counts) {
    const flows = [...new Set([...knownFlows, ...counts.map((c) => c.flow)])].sort();
    const byCell = new Map(counts.map((c) => [c.flow + "\u0000" + c.status, c.count]));
    const current = filtersFromUrl();
    const head = h("tr", {}, h("th", {}, "Flow"), STATUSES.map((s) => h("th", {}, statusBadge(s))),
                   h("th", {}, "all"));
    const body = flows.map((flow) => {
      let total = 0;
      const cells = STATUSES.map((status) => {
        const count = byCell.get(flow + "\u0000" + status) || 0;
        total += count;
        const selected = current.flow === flow && current.status === status;
        return h("td", {class: "count" + (count ? "" : " zero") + (selected ? " selected" : ""),
                        "data-flow": flow, "data-status": status, "data-count": count},
                 count ? filterLink(flow, status, String(count)) : "0");
      });
      const paused = pausedFlows.has(flow);
      return h("tr", {"data-flow": flow, "data-paused": paused ? "true" : "false"},
               h("th", {}, filterLink(flow, "", flow),
                 paused ? [" ", h("span", {class: "status status-paused flow-paused",
                                           title: "New starts wait until the flow is resumed"},
                                  "flow paused")] : []),
               cells,
               h("td", {class: "count total", "data-flow": flow, "data-count": total}, String(total)));
    });
    fill(countsBox, h("table", {class: "counts"}, h("thead", {}, head), h("tbody", {}, body)));
    if (flows.length === 0) fill(countsBox, "No saga yet.");
    for (const flow of flows) ensureOption(form.elements.flow, flow);
  }

  // A change seen: the counts are read again, once for a burst of changes.
  function countsChanged() {
    if (countsTimer !== null) return;
    countsTimer = setTimeout(refreshCounts, COUNTS_AT_MOST_MS);
  }

  async function refreshCounts() {
    clearTimeout(countsTimer);
    countsTimer = null;
    const mine = ++countsRound;
    try {
      // The flows too, for which are paused; when they cannot be read the last answer stands.
      const [{counts}, flows] = await Promise.all([api("/api/counts"),
                                                   api("/api/flows").catch(() => null)]);
      if (mine !== countsRound) return;
      if (flows) rememberFlows(flows.flows);
      renderCounts(counts);
      countsBox.dataset.state = "ready";
      fill(countsUpdated, "updated " + new Date().toISOString().slice(11, 19) + " UTC");
    } catch (error) {
      if (mine !== countsRound) return;
      countsBox.dataset.state = "error";
      fill(countsUpdated, "not updated: " + error.message);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Starting a saga: the input is parsed and checked against the chosen flow's contract as it
  // is typed; Start sends it (POST /api/sagas) only when the page finds no problem, and shows
  // the API's answer as it comes: the new saga, or its error with every detail.
  const startForm = document.getElementById("start-form");
  const startProblems = document.getElementById("start-problems");
  const startResult = document.getElementById("start-result");
  const startSubmit = document.getElementById("start-submit");

  function describeContract(contract) {
    if (contract === undefined) return "Choose a flow.";
    if (contract === null) return "This flow declares no input contract: any JSON object.";
    const lines = [];
    const walk = (fields, indent) => {
      for (const f of fields) {
        lines.push(`${indent}${f.name}: ${f.type}${f.required ? "" : " (optional)"}` +
                   (f.items ? ` of ${f.items.type}` : ""));
        if (f.fields) walk(f.fields, indent + "  ");
        if (f.items && f.items.fields) walk(f.items.fields, indent + "    ");
      }
    };
    walk(contract.fields, "");
    if (contract.fields.length === 0) lines.push("(no fields)");
    lines.push(contract.additional_fields ? "other fields accepted" : "no other field accepted");
    return lines.join("\n");
  }

  // The form's problems: the flow, the JSON, then the contract's. [] when it can be sent.
  function startCheck() {
    const flow = startForm.elements.flow.value;
    const text = startForm.elements.input.value.trim();
    if (!flow) return {problems: ["Choose a flow."]};
    let input;
    try {
      input = text ? JSON.parse(text) : {};
    } catch (e) {
      return {problems: [`The input is not JSON: ${e.message}`]};
    }
    const {problems, omitted} = checkInput(flowContracts.get(flow), input);
    const lines = problems.map((p) => p.message);
    if (omitted) lines.push(`and ${omitted} more problem${omitted === 1 ? "" : "s"}`);
    return {problems: lines, input};
  }

  function showStartCheck() {
    const flow = startForm.elements.flow.value;
    fill(document.getElementById("start-contract"),
         describeContract(flow ? flowContracts.get(flow) : undefined));
    const {problems} = startCheck();
    const typed = startForm.elements.flow.value !== "";
    startProblems.hidden = problems.length === 0 || !typed;
    startForm.dataset.valid = problems.length === 0 ? "true" : "false";
    if (problems.length && typed) {
      fill(startProblems, h("strong", {}, "Not sent: the input does not satisfy the contract"),
           h("ul", {}, problems.map((p) => h("li", {}, p))));
    }
    startSubmit.disabled = problems.length > 0;
  }

  startForm.elements.flow.addEventListener("change", showStartCheck);
  startForm.elements.input.addEventListener("input", showStartCheck);
  document.getElementById("start-template").addEventListener("click", () => {
    const flow = startForm.elements.flow.value;
    if (!flow) return;
    startForm.elements.input.value = json(inputTemplate(flowContracts.get(flow)));
    showStartCheck();
  });

  let starting = false;
  startForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (starting) return;
    const {problems, input} = startCheck();
    showStartCheck();
    if (problems.length) return;
    const body = {flow: startForm.elements.flow.value, input};
    const key = startForm.elements.idempotency_key.value.trim();
    if (key) body.idempotency_key = key;
    const startAt = startForm.elements.start_at.value.trim();
    if (startAt) body.start_at = startAt;  // a delayed start: stored pending until then
    starting = true;
    startSubmit.disabled = true;
    outcomePending(startResult, "Starting…");
    try {
      const done = await api("/api/sagas", {method: "POST", body});
      startResult.dataset.outcome = "started";
      startResult.dataset.sagaId = done.id;
      startResult.classList.add("ok");
      fill(startResult, h("strong", {}, done.created ? "Started" : "Already started"), ": saga ",
           h("a", {href: "/sagas/" + encodeURIComponent(done.id), class: "id"}, done.id), ", ",
           statusBadge(done.status),
           done.created ? "" : " (the business key had started it before)");
      applyFilters(filtersFromUrl(), false);
    } catch (error) {
      outcomeRefused(startResult, error, "Start refused: ");
    } finally {
      starting = false;
      showStartCheck();
    }
  });

  function rememberFlows(flows) {
    knownFlows = new Set(flows.map((f) => f.name));
    flowContracts = new Map(flows.map((f) => [f.name, f.input ?? null]));
    pausedFlows = new Set(flows.filter((f) => f.paused === true).map((f) => f.name));
  }

  // ---------------------------------------------------------------------------------------
  async function start() {
    const statusSelect = form.elements.status;
    for (const s of STATUSES) statusSelect.append(h("option", {value: s}, s));
    try {
      const {flows} = await api("/api/flows");
      rememberFlows(flows);
      for (const f of flows) {
        ensureOption(form.elements.flow, f.name);
        ensureOption(startForm.elements.flow, f.name);
      }
    } catch (error) {
      showError(listError, error);
    }
    const f = filtersFromUrl();
    showFilters(f);
    showStartCheck();
    loadPage();
    refreshCounts();
    // "open" too: after a reconnect some changes may have been missed.
    watch({}, () => countsChanged());
  }
  start();
})();
