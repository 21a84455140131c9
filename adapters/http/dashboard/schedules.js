// The Schedules page: every schedule (GET /api/schedules) with its next and last firing, and
// its controls: pause or resume (POST /api/schedules/{name}/pause|resume) and delete (DELETE
// /api/schedules/{name}, after a confirmation). Read again every 5 s and after each action.
"use strict";

(() => {
  const {h, fill, api, time, showError} = Sagaflow;
  const byId = (id) => document.getElementById(id);
  const rows = document.querySelector("#schedules tbody");
  const error = byId("schedules-error");
  const empty = byId("schedules-empty");
  const path = (name) => "/api/schedules/" + encodeURIComponent(name);

  async function act(name, method, suffix) {
    error.hidden = true;
    try {
      await api(path(name) + suffix, {method, body: method === "POST" ? {} : undefined});
    } catch (e) {
      showError(error, e);
    }
    await load();
  }

  function row(s) {
    const toggle = s.paused
      ? h("button", {type: "button", class: "resume"}, "Resume")
      : h("button", {type: "button", class: "pause secondary"}, "Pause");
    toggle.addEventListener("click", () => act(s.name, "POST", s.paused ? "/resume" : "/pause"));
    const remove = h("button", {type: "button", class: "delete danger"}, "Delete");
    remove.addEventListener("click", () => {
      if (window.confirm(`Delete schedule ${s.name}? The sagas it started stay.`)) {
        act(s.name, "DELETE", "");
      }
    });
    const saga = s.last_saga
      ? h("a", {href: "/sagas/" + encodeURIComponent(s.last_saga)}, s.last_saga.slice(0, 8))
      : "-";
    return h("tr", {"data-name": s.name},
      h("td", {class: "name"}, s.name), h("td", {}, s.flow), h("td", {class: "cron"}, s.cron),
      h("td", {}, s.zone), h("td", {}, s.overlap),
      h("td", {class: "state"}, s.paused ? "paused" : "active"),
      h("td", {class: "next"}, s.next_fire ? time(s.next_fire) : "-"),
      h("td", {class: "last"}, s.last_fire ? time(s.last_fire) : "-"),
      h("td", {class: "outcome"}, s.last_outcome || "-"), h("td", {}, saga),
      h("td", {class: "buttons"}, toggle, remove));
  }

  async function load() {
    try {
      const answer = await api("/api/schedules");
      fill(rows, answer.schedules.map(row));
      empty.hidden = answer.schedules.length > 0;
    } catch (e) {
      showError(error, e);
    }
  }

  load();
  setInterval(load, 5000);
})();
