// The Repair section of a saga's page: on a failed (parked) saga, Skip step (POST
// /api/sagas/{id}/skip with an output typed as JSON) and Edit data (POST /api/sagas/{id}/edit
// with the input as JSON, merged or replaced, then retried). It follows saga.js's rendering
// through the body's data-status and data-version, and reads the saga itself for its input.
"use strict";

(() => {
  const {h, fill, api, statusBadge, showError, json, ACTOR_KEY} = Sagaflow;

  const id = decodeURIComponent(location.pathname.slice("/sagas/".length));
  const field = (label, control) => h("label", {class: "repair-field"}, label, control);

  const skipStep = h("input", {id: "skip-step", type: "text", autocomplete: "off",
                               placeholder: "the step it is parked on"});
  const skipOutput = h("textarea", {id: "skip-output", rows: "6", spellcheck: "false"}, "{}");
  const skipButton = h("button", {type: "submit", id: "skip"}, "Skip step");
  const editInput = h("textarea", {id: "edit-input", rows: "8", spellcheck: "false"});
  const editMode = h("select", {id: "edit-mode"}, h("option", {value: "merge"}, "merge (JSON merge patch)"),
                     h("option", {value: "replace"}, "replace the whole input"));
  const editRetry = h("input", {id: "edit-retry", type: "checkbox", checked: ""});
  const editButton = h("button", {type: "submit", id: "edit"}, "Save data");
  const reason = h("input", {id: "repair-reason", type: "text", autocomplete: "off",
                             placeholder: "why (recorded in the history)"});
  const actor = h("input", {id: "repair-actor", type: "text", autocomplete: "off",
                            placeholder: "who (X-Sagaflow-Actor)"});
  actor.value = localStorage.getItem(ACTOR_KEY) || "";  // the Audit page's name, as a default
  const result = h("div", {id: "repair-result", class: "result", hidden: ""});

  const skipForm = h("form", {id: "skip-form"},
                     h("h3", {}, "Skip step"),
                     h("p", {class: "muted hint"},
                       "The saga goes on as if the step had answered with this output " +
                       "(what later steps read as $steps.<step>). A skipped step is never " +
                       "compensated."),
                     field("Step ", skipStep), field("Output (JSON) ", skipOutput), skipButton);
  const editForm = h("form", {id: "edit-form"},
                     h("h3", {}, "Edit data"),
                     h("p", {class: "muted hint"},
                       "The saga's input, checked against the flow's input contract."),
                     field("Input (JSON) ", editInput), field("Mode ", editMode),
                     h("label", {class: "repair-field"}, editRetry, " then retry the saga"),
                     editButton);
  const panel = h("section", {class: "panel", id: "repair-panel", hidden: ""},
                  h("h2", {}, "Repair"),
                  h("div", {class: "two"}, skipForm, editForm),
                  h("div", {class: "repair-note"}, field("Reason ", reason), field("Actor ", actor)),
                  result);
  document.getElementById("summary").after(panel);

  let acted = false;
  let inputEdited = false;
  let busy = false;
  // "change" too: a field emptied without typing (cut, or a driver's clear) fires no "input",
  // and a refresh must not fill it again under the person editing it.
  for (const kind of ["input", "change"]) editInput.addEventListener(kind, () => { inputEdited = true; });

  // The saga as the API has it now: shows the section when it is parked, fills the input.
  async function refresh() {
    let answer;
    try {
      answer = await api("/api/sagas/" + encodeURIComponent(id));
    } catch (error) {
      return;  // saga.js shows why the saga cannot be read
    }
    const saga = answer.saga;
    panel.hidden = !(saga.status === "failed" || acted);
    panel.dataset.status = saga.status;
    skipButton.disabled = editButton.disabled = busy || saga.status !== "failed";
    if (!inputEdited) editInput.value = json(saga.data === null ? {} : saga.data);
  }

  function parsed(textarea, what) {
    try {
      return JSON.parse(textarea.value);
    } catch (e) {
      throw new Error(`${what} is not JSON: ${e.message}`);
    }
  }

  async function repair(action, body) {
    if (busy) return;
    busy = true;
    acted = true;
    skipButton.disabled = editButton.disabled = true;
    result.hidden = false;
    result.className = "result";
    result.dataset.action = action;
    result.dataset.outcome = "pending";
    delete result.dataset.httpStatus;
    fill(result, action === "skip" ? "Skipping…" : "Editing…");
    const who = actor.value.trim();
    if (who) localStorage.setItem(ACTOR_KEY, who);
    if (reason.value.trim()) body.reason = reason.value.trim();
    try {
      const headers = who ? {"X-Sagaflow-Actor": who} : {};
      const done = await api(`/api/sagas/${encodeURIComponent(id)}/${action}`,
                             {method: "POST", body, headers});
      result.dataset.outcome = "accepted";
      result.dataset.status = done.status;
      result.classList.add("ok");
      fill(result, h("strong", {}, action === "skip" ? "Step skipped" : "Data edited"),
           ": committed; the saga was ", statusBadge(done.status), " when the API answered.");
      inputEdited = false;
    } catch (error) {
      result.dataset.outcome = "refused";
      result.dataset.httpStatus = error.status || "";
      result.classList.add("error");
      showError(result, error);
      result.prepend(h("strong", {}, action === "skip" ? "Skip refused: " : "Edit refused: "));
    } finally {
      busy = false;
    }
    refresh();
  }

  function submitted(event, build, action) {
    event.preventDefault();
    let body;
    try {
      body = build();
    } catch (error) {
      result.hidden = false;
      result.className = "result error";
      result.dataset.action = action;
      result.dataset.outcome = "invalid";
      fill(result, h("strong", {}, error.message));
      return;
    }
    repair(action, body);
  }

  skipForm.addEventListener("submit", (event) => submitted(event, () => {
    const body = {output: parsed(skipOutput, "The output")};
    if (skipStep.value.trim()) body.step = skipStep.value.trim();
    return body;
  }, "skip"));
  editForm.addEventListener("submit", (event) => submitted(event, () => ({
    input: parsed(editInput, "The input"),
    mode: editMode.value,
    retry: editRetry.checked,
  }), "edit"));

  // saga.js sets data-status and data-version on the body each time it shows the saga.
  new MutationObserver(refresh).observe(document.body,
                                        {attributes: true, attributeFilter: ["data-version"]});
  refresh();
})();
