// The Audit page: the operators' actions (GET /api/audit), newest first, a page at a time, and
// the name this browser sends with its actions (X-Sagaflow-Actor, kept in localStorage).
"use strict";

(() => {
  const {h, fill, api, time, showError, ACTOR_KEY} = Sagaflow;
  const byId = (id) => document.getElementById(id);
  const rows = document.querySelector("#audit tbody");
  const error = byId("audit-error");
  const older = byId("audit-older");
  const newest = byId("audit-newest");
  let next = null;

  async function load(before) {
    error.hidden = true;
    try {
      const q = new URLSearchParams({limit: "50"});
      if (before) q.set("before", String(before));
      const answer = await api("/api/audit?" + q.toString());
      fill(rows, answer.entries.map((e) => h("tr", {"data-seq": e.seq},
        h("td", {}, e.seq), h("td", {}, time(e.at)), h("td", {class: "actor"}, e.actor),
        h("td", {class: "action"}, e.action), h("td", {}, e.reason),
        h("td", {class: "result-status"}, e.status), h("td", {class: "request"}, e.request))));
      next = answer.next;
      older.disabled = next === null;
      newest.disabled = !before;
    } catch (e) {
      showError(error, e);
    }
  }

  const actor = byId("actor");
  actor.value = localStorage.getItem(ACTOR_KEY) || "";
  byId("actor-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = actor.value.trim();
    if (name) localStorage.setItem(ACTOR_KEY, name);
    else localStorage.removeItem(ACTOR_KEY);
  });
  older.addEventListener("click", () => load(next));
  newest.addEventListener("click", () => load(null));
  load(null);
})();
