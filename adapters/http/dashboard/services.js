// The Services page: GET /api/services every 3 s, a row per service, and the warning for a
// service with commands waiting and no consumer (docs/admin-api.md).
"use strict";

(() => {
  const {h, fill, api, time, showError} = Sagaflow;
  const table = document.getElementById("services");
  const body = table.querySelector("tbody");
  const warning = document.getElementById("services-warning");
  const failure = document.getElementById("services-error");
  const updated = document.getElementById("services-updated");

  function cell(value) {
    return h("td", {}, value === null || value === undefined ? "–" : String(value));
  }

  function ms(value) {
    if (!value) return "–";
    return value < 1000 ? value + " ms" : (value / 1000).toFixed(1) + " s";
  }

  function render(answer) {
    const rows = answer.services.map((s) =>
      h("tr", {"data-service": s.service, class: s.without_consumer ? "warning" : undefined},
        h("td", {}, s.service), cell(s.consumers), cell(s.queued), cell(s.in_flight),
        cell(s.waiting), h("td", {}, ms(s.oldest_waiting_ms)),
        h("td", {}, s.last_reply_at ? time(s.last_reply_at) : "never"),
        h("td", {class: "service-warning"}, s.without_consumer ? "no consumer" : "")));
    if (rows.length === 0) rows.push(h("tr", {}, h("td", {colspan: 8}, "No services")));
    fill(body, ...rows);
    const unserved = answer.without_consumer;
    if (unserved.length > 0) {
      fill(warning, "Commands wait and no worker consumes them: " + unserved.join(", "));
      warning.hidden = false;
    } else {
      warning.hidden = true;
    }
    table.dataset.state = "loaded";
    fill(updated, "updated " + new Date().toISOString().slice(11, 19) + " UTC");
  }

  async function refresh() {
    try {
      render(await api("/api/services"));
      failure.hidden = true;
    } catch (error) {
      table.dataset.state = "error";
      showError(failure, error);
    }
  }

  refresh();
  setInterval(refresh, 3000);
})();
