// One saga's page (GET /sagas/{id}): its fields, data, failure, the steps in flight, the
// timeline drawn as a sequence diagram (sequence.js), the history records, the Retry and
// Cancel buttons (shown only when the API says they apply), and on a waiting saga a form that
// sends one of the events it waits for. The page reloads the saga when the event stream says it
// changed.
"use strict";

(() => {
  const {h, fill, api, watch, statusBadge, time, json, showError, duration, outcomePending,
         outcomeRefused} = Sagaflow;
  const RETRY_MS = 2000;

  const id = decodeURIComponent(location.pathname.slice("/sagas/".length));
  const byId = (name) => document.getElementById(name);
  const buttons = {retry: byId("retry"), cancel: byId("cancel")};
  const result = byId("action-result");
  let shownVersion = null;
  let shownHistory = [];
  let timer = null;
  let busy = false;

  document.title = `Saga ${id} · Sagaflow`;
  fill(byId("crumb"), id);

  // ---------------------------------------------------------------------------------------
  let loads = 0;
  async function load() {
    clearTimeout(timer);
    const mine = ++loads;
    let answer;
    try {
      answer = await api("/api/sagas/" + encodeURIComponent(id));
    } catch (error) {
      if (mine !== loads) return;
      showError(byId("load-error"), error);
      byId("loading").hidden = true;
      document.body.dataset.state = "error";
      if (error.status !== 404) timer = setTimeout(load, RETRY_MS);
      return;
    }
    if (mine !== loads) return;
    byId("load-error").hidden = true;
    show(answer.saga, answer.history);
  }

  function show(saga, history) {
    document.body.dataset.status = saga.status;
    document.body.dataset.version = saga.version;
    document.body.dataset.state = "ready";
    byId("loading").hidden = true;
    for (const panel of ["summary", "timeline-panel", "data-panel", "history-panel"]) {
      byId(panel).hidden = false;
    }
    fill(byId("saga-flow"), saga.flow);
    fill(byId("saga-status"), statusBadge(saga.status));
    showActions(saga);
    showInFlight(saga.in_flight || [], saga.updated_at);
    showEventForm(saga);

    const field = (name, ...value) => h("tr", {}, h("th", {}, name), h("td", {}, ...value));
    fill(byId("fields"),
         field("Saga", h("code", {}, saga.id)),
         field("Flow", `${saga.flow} version ${saga.flow_version}`),
         field("Status", statusBadge(saga.status)),
         field("Business key", saga.key === null ? h("span", {class: "muted"}, "—") : saga.key),
         field("Created", time(saga.created_at) + " UTC"),
         field("Updated", time(saga.updated_at) + " UTC"),
         field("Saga version", String(saga.version)));

    // Sub-flows: links to the saga that started this one and to the child sagas it started.
    const sagaLink = (id, cls) =>
        h("a", {href: "/sagas/" + encodeURIComponent(id), class: cls}, id);
    const links = byId("subflow-links");
    const children = saga.children || [];
    links.hidden = !saga.parent && children.length === 0;
    // Filled again only when they change: a link being clicked stays the same element.
    const linksKey = JSON.stringify([saga.parent, children]);
    if (links.dataset.key !== linksKey) {
      links.dataset.key = linksKey;
      fill(links,
         ...(saga.parent ? [h("div", {}, h("strong", {}, "Parent saga: "),
                                sagaLink(saga.parent.id, "parent-link"), " (step ",
                                h("code", {}, saga.parent.step), ")")] : []),
         ...(children.length > 0 ? [h("div", {}, h("strong", {}, "Child sagas: "),
                                      h("ul", {}, ...children.map(c => h("li", {},
                                        h("code", {}, c.step), " — ",
                                        sagaLink(c.id, "child-link")))))] : []));
    }

    const failure = byId("failure");
    failure.hidden = !saga.failure;
    if (saga.failure) fill(failure, h("strong", {}, "Failure: "), saga.failure);

    // An honest end: compensated, but these irreversible steps' effects still stand.
    const standing = byId("effects-left-standing");
    const effects = saga.effects_left_standing || [];
    standing.hidden = effects.length === 0;
    if (effects.length > 0) {
      fill(standing, h("strong", {}, "Effects left standing: "),
           h("ul", {}, ...effects.map(e => h("li", {}, h("code", {}, e.step), " — ", e.reason))));
    }

    fill(byId("data"), saga.data === null ? "(not readable: its flow version is not loaded)"
                                          : json(saga.data));
    fill(byId("steps"), saga.steps === null ? "—" : json(saga.steps));

    if (shownVersion === saga.version) return;  // the diagram and the records did not change
    shownVersion = saga.version;
    shownHistory = history;
    const model = SagaSequence.model(history);
    fill(byId("timeline"), SagaSequence.render(model, history, select));
    byId("timeline").dataset.version = saga.version;
    byId("message").hidden = true;

    fill(byId("history-count"), String(history.length));
    fill(byId("history"), history.map((r, i) =>
        h("tr", {"data-index": i, "data-kind": r.kind},
          h("td", {}, String(i + 1)), h("td", {class: "time"}, time(r.at)),
          h("td", {}, String(r.version)), h("td", {}, r.kind), h("td", {}, r.step || "—"),
          h("td", {}, h("code", {}, JSON.stringify(r.detail))))));
  }

  // Retry and Cancel only where they apply (the API's `actions`); a word on why otherwise.
  function showActions(saga) {
    const can = saga.actions || {retry: false, cancel: false};
    buttons.retry.hidden = !can.retry;
    buttons.cancel.hidden = !can.cancel;
    buttons.retry.classList.toggle("primary", can.retry);
    buttons.cancel.classList.toggle("primary", can.cancel);
    let hint;
    if (can.retry) {
      hint = "Retry sends the step (or compensation) that parked this saga again.";
    } else if (can.cancel) {
      hint = "Cancel compensates the steps done so far; the saga ends cancelled.";
    } else if (["running", "waiting"].includes(saga.status)) {
      hint = "Past its pivot step: it can no longer be cancelled, only go forward.";
    } else if (saga.status === "compensating") {
      hint = "Compensating: nothing to retry or cancel while it undoes its steps.";
    } else {
      hint = `It has ended ${saga.status}: nothing to retry or cancel.`;
    }
    fill(byId("actions-hint"), hint);
  }

  // The steps in flight: a command out (its attempt), one waiting for its next attempt (when),
  // a wait (the events it takes, its key, when it times out).
  const PHASES = {
    awaiting_reply: "waiting for the reply",
    retry_backoff: "waiting to retry",
    compensating: "compensating: waiting for the reply",
    compensation_backoff: "waiting to retry the compensation",
    waiting_event: "waiting for an event",
  };

  // A due time against the saga's last change, both the daemon's times: the browser's clock
  // may differ from the daemon's (and the demo's clock jumps ahead).
  function afterLastChange(at, updatedAt) {
    const ms = Date.parse(at) - Date.parse(updatedAt);
    return Number.isFinite(ms) && ms >= 0 ? ` (${duration(ms)} after its last change)` : "";
  }

  function showInFlight(steps, updatedAt) {
    const inAbout = (at) => afterLastChange(at, updatedAt);
    byId("in-flight-panel").hidden = steps.length === 0;
    const none = h("span", {class: "muted"}, "—");
    fill(byId("in-flight"), steps.map((s) => {
      const wait = s.phase === "waiting_event";
      const what = wait
          ? [h("span", {}, s.events.map((e) => h("code", {class: "event"}, e))),
             s.failure_events.length
                 ? h("span", {class: "muted"}, " fails on ",
                     s.failure_events.map((e) => h("code", {class: "event"}, e)))
                 : "",
             h("div", {class: "muted"}, `key ${s.key} at ${s.key_path}`)]
          : s.command ? h("code", {}, s.command) : none;
      return h("tr", {"data-step": s.step, "data-phase": s.phase,
                      "data-attempt": wait ? null : s.attempt,
                      "data-next-attempt-at": s.next_attempt_at || null,
                      "data-events": wait ? s.events.join(",") : null},
               h("td", {}, h("code", {}, s.step)),
               h("td", {}, PHASES[s.phase] || s.phase),
               h("td", {}, what),
               h("td", {}, wait ? none : String(s.attempt)),
               h("td", {class: "time"}, s.next_attempt_at
                   ? time(s.next_attempt_at) + inAbout(s.next_attempt_at) : none),
               h("td", {class: "time"}, s.timeout_at
                   ? time(s.timeout_at) + inAbout(s.timeout_at) : none));
    }));
  }

  // ---------------------------------------------------------------------------------------
  // Sending an event a waiting saga waits for (POST /api/events). The payload starts with the
  // saga's key where the wait reads it; what the operator types is kept across reloads.
  const eventForm = byId("event-form");
  const eventResult = byId("event-result");
  const eventProblems = byId("event-problems");
  let eventWaits = [];      // the waits in flight, from the last load
  let prefilled = null;     // the payload text the page wrote, until the operator edits it

  // {"booking_id": "b-1"} for key_path "$event.booking_id"; {} for a path the page cannot
  // write (an index, say).
  function payloadWithKey(wait) {
    const segments = (wait.key_path || "").split(".");
    if (segments.shift() !== "$event" || segments.length === 0 ||
        !segments.every((s) => /^[A-Za-z_][A-Za-z0-9_-]*$/.test(s))) {
      return {};
    }
    const payload = {};
    let at = payload;
    segments.forEach((segment, i) => {
      at[segment] = i === segments.length - 1 ? wait.key : {};
      at = at[segment];
    });
    return payload;
  }

  function selectedWait() {
    const type = eventForm.elements.type.value;
    return eventWaits.find((w) => w.events.includes(type) || w.failure_events.includes(type));
  }

  function prefill() {
    const wait = selectedWait();
    const text = eventForm.elements.payload.value;
    if (!wait || (prefilled !== null && text !== prefilled)) return;  // edited: kept
    prefilled = json(payloadWithKey(wait));
    eventForm.elements.payload.value = prefilled;
  }

  function showEventForm(saga) {
    eventWaits = (saga.in_flight || []).filter((s) => s.phase === "waiting_event");
    byId("event-panel").hidden = eventWaits.length === 0;
    const select = eventForm.elements.type;
    const options = eventWaits.flatMap((w) => [
      ...w.events.map((e) => ({value: e, label: `${e} (${w.step})`})),
      ...w.failure_events.map((e) => ({value: e, label: `${e} (${w.step}: fails it)`}))]);
    const shown = [...select.options].map((o) => o.value).join("\n");
    if (shown !== options.map((o) => o.value).join("\n")) {
      const before = select.value;
      fill(select, options.map((o) => h("option", {value: o.value}, o.label)));
      if (options.some((o) => o.value === before)) select.value = before;
    }
    prefill();
  }

  eventForm.elements.type.addEventListener("change", prefill);

  function eventCheck() {
    const text = eventForm.elements.payload.value.trim();
    let payload;
    try {
      payload = text ? JSON.parse(text) : {};
    } catch (e) {
      return {problem: `The payload is not JSON: ${e.message}`};
    }
    if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
      return {problem: "The payload must be a JSON object."};
    }
    if (!eventForm.elements.type.value) return {problem: "Choose an event."};
    return {payload};
  }

  eventForm.elements.payload.addEventListener("input", () => {
    const {problem} = eventCheck();
    eventProblems.hidden = !problem;
    if (problem) fill(eventProblems, problem);
  });

  let sending = false;
  eventForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sending) return;
    const {problem, payload} = eventCheck();
    eventProblems.hidden = !problem;
    if (problem) {
      fill(eventProblems, problem);
      return;
    }
    const body = {type: eventForm.elements.type.value, payload};
    const messageId = eventForm.elements.message_id.value.trim();
    if (messageId) body.message_id = messageId;
    sending = true;
    byId("event-submit").disabled = true;
    outcomePending(eventResult, "Sending…");
    try {
      const done = await api("/api/events", {method: "POST", body});
      eventResult.dataset.outcome = "accepted";
      eventResult.classList.add("ok");
      fill(eventResult, h("strong", {}, "Event sent"), ": ", h("code", {}, done.type),
           " with message id ", h("code", {}, done.message_id),
           ". The saga takes it if its payload carries the key; this page follows it.");
    } catch (error) {
      outcomeRefused(eventResult, error, "Event refused: ");
    } finally {
      sending = false;
      byId("event-submit").disabled = false;
    }
  });

  // A click on a message of the diagram shows its record.
  let selected = null;
  function select(row, element) {
    if (selected) selected.classList.remove("selected");
    selected = element;
    element.classList.add("selected");
    const record = shownHistory[row.index] || {};
    const box = byId("message");
    fill(box, h("strong", {}, `#${row.index + 1} ${record.kind || row.kind}`),
         h("span", {class: "muted"},
           ` ${time(record.at)} UTC${record.step ? " · step " + record.step : ""}`),
         h("pre", {}, json(record.detail ?? {})));
    box.hidden = false;
  }

  // ---------------------------------------------------------------------------------------
  // Retry and Cancel: confirmed first, then sent; the API's answer is shown either way.
  function confirmAction(question, explanation, withReason) {
    const dialog = byId("confirm-dialog");
    fill(dialog.querySelector(".question"), question);
    fill(dialog.querySelector(".explanation"), explanation);
    const reason = dialog.querySelector(".reason");
    reason.hidden = !withReason;
    reason.querySelector("input").value = "";
    dialog.returnValue = "";
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => {
        resolve(dialog.returnValue === "confirm"
                    ? {reason: reason.querySelector("input").value.trim()} : null);
      }, {once: true});
      dialog.showModal();
      byId("confirm-no").focus();
    });
  }

  async function act(action) {
    if (busy) return;
    const cancel = action === "cancel";
    const answer = await confirmAction(
        cancel ? `Cancel saga ${id}?` : `Retry saga ${id}?`,
        cancel ? "Its completed steps are compensated; the saga ends cancelled."
               : "The step (or compensation) that parked it is sent again.",
        cancel);
    if (!answer) return;
    busy = true;
    buttons.retry.disabled = buttons.cancel.disabled = true;
    outcomePending(result, cancel ? "Cancelling…" : "Retrying…");
    result.dataset.action = action;
    try {
      const body = cancel && answer.reason ? {reason: answer.reason} : {};
      const done = await api(`/api/sagas/${encodeURIComponent(id)}/${action}`,
                             {method: "POST", body});
      result.dataset.outcome = "accepted";
      result.dataset.status = done.status;
      result.classList.add("ok");
      fill(result, h("strong", {}, cancel ? "Cancel accepted" : "Retry accepted"),
           ": committed; the saga was ", statusBadge(done.status), " when the API answered.");
    } catch (error) {
      outcomeRefused(result, error, cancel ? "Cancel refused: " : "Retry refused: ");
    } finally {
      busy = false;
      buttons.retry.disabled = buttons.cancel.disabled = false;
    }
    load();
  }

  buttons.retry.addEventListener("click", () => act("retry"));
  buttons.cancel.addEventListener("click", () => act("cancel"));
  load();
  // Loaded again when the saga changes (once for a burst of changes; "open" too, after a
  // reconnect that may have missed some).
  let changed = null;
  watch({ids: id}, () => {
    if (changed !== null) return;
    changed = setTimeout(() => {
      changed = null;
      load();
    }, 100);
  });
})();
