// Operator controls beyond retry and cancel: Pause and Resume on a saga's page, and on the list
// page a bulk action (cancel, retry, pause, resume) on every saga the list's filters find, with
// a dry run first. Kept apart from list.js and saga.js; it only adds to their pages.
"use strict";

(() => {
  const {h, fill, api, statusBadge, showError} = Sagaflow;

  // --- a saga's page ------------------------------------------------------------------------
  function sagaControls(actions, id) {
    const result = h("div", {id: "pause-result", class: "result", hidden: true});
    actions.closest(".panel").insertBefore(result, document.getElementById("fields").closest("table"));
    const pause = h("button", {type: "button", id: "pause"}, "Pause");
    const resume = h("button", {type: "button", id: "resume"}, "Resume");
    actions.prepend(pause, resume);

    // Which of the two applies follows the status the page shows (saga.js keeps it current).
    const status = () => {
      const badge = document.querySelector("#saga-status [data-status]");
      return badge ? badge.dataset.status : "";
    };
    const follow = () => {
      const s = status();
      pause.disabled = !["running", "waiting", "compensating"].includes(s);
      resume.disabled = s !== "paused";
    };
    new MutationObserver(follow).observe(document.getElementById("saga-status"),
                                         {childList: true, subtree: true});
    follow();

    async function act(action) {
      pause.disabled = resume.disabled = true;
      result.hidden = false;
      result.classList.remove("error");
      fill(result, action === "pause" ? "Pausing…" : "Resuming…");
      try {
        const done = await api(`/api/sagas/${encodeURIComponent(id)}/${action}`,
                               {method: "POST", body: {}});
        fill(result, h("strong", {}, action === "pause" ? "Paused" : "Resumed"),
             ": the saga is ", statusBadge(done.status), ".");
      } catch (error) {
        result.classList.add("error");
        showError(result, error);
        result.prepend(h("strong", {}, action === "pause" ? "Pause refused: " : "Resume refused: "));
      }
      follow();
    }
    pause.addEventListener("click", () => act("pause"));
    resume.addEventListener("click", () => act("resume"));
  }

  // --- the list page: a bulk action on the filters --------------------------------------------
  function bulkControls(panel) {
    const form = document.getElementById("filters");
    const action = h("select", {name: "bulk-action", id: "bulk-action"},
                     ["cancel", "retry", "pause", "resume"].map((a) => h("option", {value: a}, a)));
    const reason = h("input", {name: "bulk-reason", id: "bulk-reason", type: "text",
                               autocomplete: "off", placeholder: "reason (cancel, pause)"});
    const preview = h("button", {type: "button", id: "bulk-preview", class: "secondary"},
                      "Dry run");
    const apply = h("button", {type: "button", id: "bulk-apply", class: "danger", disabled: true},
                    "Apply to all");
    const out = h("div", {id: "bulk-result", class: "preview", hidden: true});
    fill(panel, h("strong", {}, "Bulk action on the filtered sagas: "), action, " ", reason, " ",
         preview, " ", apply, out);

    // The list's filters as the bulk routes take them (times are UTC, as the list shows them).
    function body(dryRun) {
      const data = new FormData(form);
      const b = {dry_run: dryRun};
      for (const key of ["flow", "status", "key"]) {
        if (data.get(key)) b[key] = String(data.get(key));
      }
      for (const key of ["from", "to"]) {
        const v = data.get(key);
        if (v) b[key] = new Date(String(v) + "Z").toISOString();
      }
      if (action.value === "retry" || action.value === "resume") delete b.status;
      if ((action.value === "cancel" || action.value === "pause") && reason.value.trim()) {
        b.reason = reason.value.trim();
      }
      return b;
    }

    action.addEventListener("change", () => { apply.disabled = true; });
    form.addEventListener("change", () => { apply.disabled = true; });

    preview.addEventListener("click", async () => {
      out.hidden = false;
      out.classList.remove("error");
      try {
        const answer = await api("/api/sagas/" + action.value, {method: "POST", body: body(true)});
        const items = answer.sagas.map((s) => h("li", {"data-id": s.id}, s.id, " ", s.flow, " ",
          statusBadge(s.status),
          s.compensations ? (s.compensations.length
            ? " compensates " + s.compensations.map((c) => c.step).join(", ")
            : " compensates nothing") : ""));
        fill(out, h("strong", {id: "bulk-count"},
                    `${action.value} would take ${answer.count} saga${answer.count === 1 ? "" : "s"}`),
             h("ul", {}, items));
        apply.disabled = answer.count === 0;
      } catch (error) {
        out.classList.add("error");
        showError(out, error);
      }
    });

    apply.addEventListener("click", async () => {
      apply.disabled = true;
      try {
        const answer = await api("/api/sagas/" + action.value, {method: "POST", body: body(false)});
        const doneKey = Object.keys(answer).find((k) => k !== "refused");
        fill(out, h("strong", {id: "bulk-done"},
                    `${doneKey} ${answer[doneKey].length}, refused ${answer.refused.length}`),
             h("ul", {}, answer.refused.map((r) => h("li", {}, r.id, ": ", r.error))));
      } catch (error) {
        out.classList.add("error");
        showError(out, error);
      }
    });
  }

  const actions = document.querySelector("#summary .actions");
  const match = location.pathname.match(/^\/sagas\/([^/]+)$/);
  if (actions && match) sagaControls(actions, decodeURIComponent(match[1]));
  const bulk = document.getElementById("bulk");
  if (bulk) bulkControls(bulk);
})();
