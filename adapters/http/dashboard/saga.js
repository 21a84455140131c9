// One saga's page (GET /sagas/{id}): its fields, data, failure, the timeline drawn as a
// sequence diagram (sequence.js), the history records, and the Retry and Cancel buttons. The
// page reloads the saga when the event stream says it changed.
"use strict";

(() => {
  const {h, fill, api, watch, statusBadge, time, json, showError} = Sagaflow;
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
    for (const panel of ["summary", "timeline-panel", "data-panel", "history-panel"]) {
      byId(panel).hidden = false;
    }
    fill(byId("saga-flow"), saga.flow);
    fill(byId("saga-status"), statusBadge(saga.status));
    buttons.retry.classList.toggle("primary", saga.status === "failed");
    buttons.cancel.classList.toggle("primary",
                                    ["pending", "running", "waiting"].includes(saga.status));

    const field = (name, ...value) => h("tr", {}, h("th", {}, name), h("td", {}, ...value));
    fill(byId("fields"),
         field("Saga", h("code", {}, saga.id)),
         field("Flow", `${saga.flow} version ${saga.flow_version}`),
         field("Status", statusBadge(saga.status)),
         field("Business key", saga.key === null ? h("span", {class: "muted"}, "—") : saga.key),
         field("Created", time(saga.created_at) + " UTC"),
         field("Updated", time(saga.updated_at) + " UTC"),
         field("Saga version", String(saga.version)));

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
    result.hidden = false;
    result.className = "result";
    result.dataset.outcome = "pending";
    result.dataset.action = action;
    fill(result, cancel ? "Cancelling…" : "Retrying…");
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
      result.dataset.outcome = "refused";
      result.dataset.httpStatus = error.status || "";
      result.classList.add("error");
      showError(result, error);
      result.prepend(h("strong", {}, cancel ? "Cancel refused: " : "Retry refused: "));
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
