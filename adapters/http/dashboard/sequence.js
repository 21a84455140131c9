// A saga's history (GET /api/sagas/{id}) drawn as a sequence diagram of the messages actually
// exchanged: the Orchestrator and each participant service as lifelines (an operator on the
// left and the event bus on the right when they took part), commands as arrows to the service,
// replies back, events in and out, timers, timeouts and failures as notes. Compensations are
// orange and dash-dotted, retries marked with their attempt.
//
// Two steps, so that the first is testable alone: SagaSequence.model(history) reads the records
// into lifelines and rows; SagaSequence.render(model, onSelect) draws them as inline SVG. Every
// drawn row carries data- attributes (data-kind, data-from, data-to, data-step, data-attempt,
// data-retry, data-compensation, data-index, data-actor for an operator's skip or edit) and every
// lifeline data-lifeline. An operator's requests are arrows from the Operator lifeline: cancel,
// retry, pause (kind operator-pause), skip a step (operator-skip, "skip STEP") and edit the input
// (operator-edit), the last two with who and why under the arrow.
"use strict";

const SagaSequence = (() => {
  const {svg} = Sagaflow;

  const ORCHESTRATOR = "orchestrator";
  const OPERATOR = "operator";
  const EVENTS = "events";

  // "booking.create" -> {service: "booking", name: "create"}
  function splitType(type) {
    const text = String(type || "");
    const dot = text.indexOf(".");
    return dot < 0 ? {service: text || "?", name: text}
                   : {service: text.slice(0, dot), name: text.slice(dot + 1)};
  }

  function outcomeText(detail) {
    const outcome = detail.outcome || "reply";
    const text = outcome === "success" ? "ok" : outcome.replace(/_/g, " ");
    return detail.code ? `${text}: ${detail.code}` : text;
  }

  function ms(delay) {
    const n = Number(delay);
    if (!Number.isFinite(n)) return "";
    return n >= 1000 ? `${(n / 1000).toFixed(n % 1000 ? 1 : 0)} s` : `${n} ms`;
  }

  // ---------------------------------------------------------------------------------------
  // history -> {lifelines: [{id, label}], rows: [...]}
  //   arrow row: {type: "arrow", kind, from, to, label, sub, step, attempt, retry,
  //               compensation, failure, muted, reply, index, at}
  //   note row:  {type: "note", kind, over: [lifeline ids] | "all", text, step, index, at}
  function model(history) {
    const services = [];  // lifelines of services, in order of first appearance
    const sentBy = new Map();  // "do|step" or "undo|step" -> {service, name}
    let operator = false;
    let events = false;
    const rows = [];

    const service = (name) => {
      if (!services.includes(name)) services.push(name);
      return "service:" + name;
    };

    history.forEach((record, index) => {
      const detail = record.detail && typeof record.detail === "object" ? record.detail : {};
      const step = record.step || "";
      const base = {index, at: record.at, step};
      const arrow = (fields) => rows.push({type: "arrow", ...base, ...fields});
      const note = (kind, over, text, extra) =>
        rows.push({type: "note", ...base, kind, over, text, ...(extra || {})});

      switch (record.kind) {
        case "command_sent":
        case "compensation_sent": {
          const undo = record.kind === "compensation_sent";
          const target = detail.service ? {service: detail.service, name: splitType(detail.type).name}
                                        : splitType(detail.type);
          sentBy.set((undo ? "undo|" : "do|") + step, target);
          const attempt = Number(detail.attempt) || 1;
          const marks = [step];
          if (attempt > 1) marks.push(`attempt ${attempt}`);
          if (detail.resent) marks.push("resent");
          arrow({kind: undo ? "compensation" : "command", from: ORCHESTRATOR,
                 to: service(target.service), label: (undo ? "↩ " : "") + target.name,
                 sub: marks.join(" · "), attempt, retry: attempt > 1, compensation: undo});
          break;
        }
        case "reply_received":
        case "compensation_reply": {
          const undo = record.kind === "compensation_reply";
          const sent = sentBy.get((undo ? "undo|" : "do|") + step);
          const attempt = Number(detail.attempt) || 1;
          const ok = detail.outcome === "success";
          arrow({kind: undo ? "compensation-reply" : "reply",
                 from: sent ? service(sent.service) : ORCHESTRATOR, to: ORCHESTRATOR,
                 label: (undo ? "↩ " : "") + outcomeText(detail),
                 sub: step + (attempt > 1 ? ` · attempt ${attempt}` : ""), attempt,
                 retry: attempt > 1, compensation: undo, failure: !ok, reply: true});
          break;
        }
        case "reply_ignored": {
          const sent = sentBy.get("do|" + step) || sentBy.get("undo|" + step);
          arrow({kind: "reply-ignored", from: sent ? service(sent.service) : ORCHESTRATOR,
                 to: ORCHESTRATOR, label: "reply ignored", sub: detail.reason || step,
                 muted: true, reply: true});
          break;
        }
        case "event_published":
          events = true;
          arrow({kind: "event-out", from: ORCHESTRATOR, to: EVENTS, label: detail.type || "event",
                 sub: step});
          break;
        case "event_accepted":
        case "failure_event":
          events = true;
          arrow({kind: "event-in", from: EVENTS, to: ORCHESTRATOR, label: detail.type || "event",
                 sub: step + (record.kind === "failure_event" ? " · failure event" : ""),
                 failure: record.kind === "failure_event"});
          break;
        case "event_ignored":
          events = true;
          arrow({kind: "event-ignored", from: EVENTS, to: ORCHESTRATOR,
                 label: (detail.type || "event") + " ignored", sub: detail.reason || step,
                 muted: true});
          break;
        case "saga_cancel_requested":
          operator = true;
          arrow({kind: "operator", from: OPERATOR, to: ORCHESTRATOR, label: "cancel",
                 sub: detail.reason || ""});
          break;
        case "operator_retry":
          operator = true;
          arrow({kind: "operator", from: OPERATOR, to: ORCHESTRATOR, label: "retry",
                 sub: detail.in_compensation ? "the compensation" : "the failed step"});
          break;
        case "operator_skip":
        case "operator_edit": {
          // Who and why: the actor and reason the request gave (its output or input in <title>).
          operator = true;
          const skip = record.kind === "operator_skip";
          const who = [detail.actor ? "by " + detail.actor : "", detail.reason || ""]
            .filter(Boolean).join(" · ");
          arrow({kind: skip ? "operator-skip" : "operator-edit", from: OPERATOR, to: ORCHESTRATOR,
                 label: skip ? `skip ${step}` : `edit input (${detail.mode || "replace"})`,
                 sub: who, actor: detail.actor || ""});
          break;
        }
        case "saga_paused":
          if (detail.by === "flow") {
            note("pause", [ORCHESTRATOR], "⏸ held: the flow is paused");
          } else {
            operator = true;
            arrow({kind: "operator-pause", from: OPERATOR, to: ORCHESTRATOR, label: "pause",
                   sub: detail.reason || ""});
          }
          break;
        case "saga_resumed":
          note("pause", [ORCHESTRATOR], "▶ resumed" +
               (Number(detail.held_inputs) ? `, ${detail.held_inputs} held input(s) applied` : ""));
          break;
        case "input_held": {
          const what = detail.timer ? `timer ${detail.timer}`
                     : detail.kind === "reply" ? `reply (${outcomeText(detail)})`
                     : detail.type || "event";
          note("muted", [ORCHESTRATOR], `held while paused: ${what}${step ? " for " + step : ""}`);
          break;
        }
        case "saga_held":
          break;  // the "held" note of saga_paused says it
        case "saga_started":
          note("start", [ORCHESTRATOR], "saga started");
          break;
        case "wait_started": {
          events = true;
          const types = Array.isArray(detail.events) ? detail.events.join(", ") : "events";
          note("wait", [ORCHESTRATOR, EVENTS], `${step} waits for ${types}` +
               (detail.key ? ` (key ${detail.key})` : ""));
          break;
        }
        case "wait_timed_out":
          events = true;
          note("timeout", [ORCHESTRATOR, EVENTS], `timeout: wait ${step} timed out`);
          break;
        case "retry_scheduled":
          note("retry", [ORCHESTRATOR],
               `↻ ${step}: attempt ${detail.next_attempt} in ${ms(detail.delay_ms)}` +
               (detail.code ? ` (${detail.code})` : ""), {attempt: Number(detail.next_attempt)});
          break;
        case "compensation_retry_scheduled":
          note("retry", [ORCHESTRATOR],
               `↻ compensation of ${step} again in ${ms(detail.delay_ms)}` +
               (detail.code ? ` (${detail.code})` : ""), {compensation: true});
          break;
        case "step_timed_out":
        case "compensation_timed_out": {
          const undo = record.kind === "compensation_timed_out";
          const sent = sentBy.get((undo ? "undo|" : "do|") + step);
          const over = sent ? [ORCHESTRATOR, service(sent.service)] : [ORCHESTRATOR];
          note("timeout", over, `timeout: no reply to ${undo ? "the compensation of " : ""}${step}` +
               (detail.attempt ? ` (attempt ${detail.attempt})` : "") + " in time",
               {compensation: undo});
          break;
        }
        case "saga_timed_out":
          note("timeout", "all", "timeout: the saga timed out");
          break;
        case "step_failed":
          note("failure", [ORCHESTRATOR], `✗ ${step} failed: ${detail.reason || "failed"}`);
          break;
        case "step_skipped":
          note("skip", [ORCHESTRATOR], `${step} skipped` + (detail.when ? ` (when ${detail.when})` : ""));
          break;
        case "compensation_started":
          note("compensation", "all", `↩ compensation starts: ${detail.reason || ""}`,
               {compensation: true});
          break;
        case "compensation_skipped":
          note("compensation", [ORCHESTRATOR], `↩ nothing to undo for ${step}`, {compensation: true});
          break;
        case "saga_parked":
          note("failure", "all", `parked for an operator: ${detail.reason || ""}`);
          break;
        case "saga_completed":
          note("end", "all", "✓ completed");
          break;
        case "saga_compensated":
          note("end", "all", "↩ compensated", {compensation: true});
          break;
        case "saga_cancelled":
          note("end", "all", "cancelled", {compensation: true});
          break;
        case "timer_ignored":
          note("muted", [ORCHESTRATOR], `timer ignored${detail.key ? ": " + detail.key : ""}`);
          break;
        default:
          note("other", [ORCHESTRATOR], `${record.kind}${step ? " " + step : ""}`);
      }
    });

    const lifelines = [];
    if (operator) lifelines.push({id: OPERATOR, label: "Operator"});
    lifelines.push({id: ORCHESTRATOR, label: "Orchestrator"});
    for (const s of services) lifelines.push({id: "service:" + s, label: s});
    if (events) lifelines.push({id: EVENTS, label: "Events"});
    return {lifelines, rows};
  }

  // ---------------------------------------------------------------------------------------
  // model -> <svg>
  const CHAR = 6.7;  // px per character at the labels' size: text is cut to fit, whole in <title>
  const LEFT = 78;   // the time column
  const HEADER = 40;
  const ARROW_ROW = 42;
  const LINE = 15;

  function cut(text, width) {
    const max = Math.max(4, Math.floor(width / CHAR));
    return text.length > max ? text.slice(0, max - 1) + "…" : text;
  }

  function wrap(text, width) {
    const max = Math.max(8, Math.floor(width / CHAR));
    const lines = [];
    let line = "";
    for (const word of String(text).split(/\s+/)) {
      if (line && (line + " " + word).length > max) {
        lines.push(line);
        line = "";
      }
      line = line ? line + " " + word : word;
      while (line.length > max) {
        lines.push(line.slice(0, max));
        line = line.slice(max);
      }
    }
    if (line) lines.push(line);
    return lines.slice(0, 6);
  }

  function relative(at, t0) {
    const t = Date.parse(at);
    if (!Number.isFinite(t) || !Number.isFinite(t0)) return "";
    const d = t - t0;
    if (d < 1000) return `+${d} ms`;
    if (d < 120000) return `+${(d / 1000).toFixed(1)} s`;
    if (d < 7200000) return `+${(d / 60000).toFixed(1)} min`;
    return `+${(d / 3600000).toFixed(1)} h`;
  }

  function rowAttributes(row) {
    return {
      "data-kind": row.kind,
      "data-index": row.index,
      "data-step": row.step || null,
      "data-from": row.from || null,
      "data-to": row.to || null,
      "data-attempt": row.attempt || null,
      "data-retry": row.retry ? "true" : null,
      "data-compensation": row.compensation ? "true" : null,
      "data-failure": row.failure ? "true" : null,
      "data-actor": row.actor || null,
    };
  }

  function classes(row) {
    const c = [row.type, "kind-" + row.kind];
    if (row.compensation) c.push("compensation");
    if (row.failure) c.push("failure");
    if (row.retry) c.push("retry");
    if (row.muted) c.push("muted");
    if (row.reply) c.push("reply");
    return c.join(" ");
  }

  function render(m, history, onSelect) {
    const longest = Math.max(0, ...m.rows.filter((r) => r.type === "arrow")
                                       .map((r) => Math.max(r.label.length, (r.sub || "").length)),
                             ...m.lifelines.map((l) => l.label.length));
    const col = Math.max(150, Math.min(220, Math.ceil(longest * CHAR) + 34));
    const x = new Map(m.lifelines.map((l, i) => [l.id, LEFT + col * i + col / 2]));
    const width = LEFT + col * m.lifelines.length + 10;
    const t0 = history.length ? Date.parse(history[0].at) : NaN;

    const rows = [];
    let y = HEADER + 16;
    for (let row of m.rows) {
      if (row.type === "arrow" && row.from === row.to) {  // a sender not known: say it in a note
        row = {...row, type: "note", over: [row.from], text: `${row.label} (${row.sub})`};
      }
      const g = svg("g", {class: classes(row), ...rowAttributes(row), tabindex: 0});
      const detail = history[row.index] || {};
      g.append(svg("title", {}, `${detail.at || ""}  ${detail.kind || ""}` +
                   `${detail.step ? " " + detail.step : ""}\n${JSON.stringify(detail.detail ?? {})}`));
      let height;
      if (row.type === "arrow") {
        height = ARROW_ROW;
        const x1 = x.get(row.from);
        const x2 = x.get(row.to);
        const ly = y + 22;
        const dir = x2 >= x1 ? 1 : -1;
        const span = Math.abs(x2 - x1);
        const mid = (x1 + x2) / 2;
        // The row's whole band takes clicks, not only its thin line and text.
        g.append(svg("rect", {x: Math.min(x1, x2), y, width: span, height, class: "hit"}));
        g.append(svg("line", {x1, y1: ly, x2: x2 - dir * 9, y2: ly, class: "shaft"}));
        g.append(svg("polygon", {class: "head",
                                 points: `${x2},${ly} ${x2 - dir * 10},${ly - 4.5} ${x2 - dir * 10},${ly + 4.5}`}));
        g.append(svg("text", {x: mid, y: ly - 6, class: "label", "text-anchor": "middle"},
                     cut(row.label, span - 8)));
        if (row.sub) {
          g.append(svg("text", {x: mid, y: ly + 14, class: "sub", "text-anchor": "middle"},
                       cut(row.sub, span - 8)));
        }
        if (row.retry && !row.reply) {
          // A retry badge at the command's tail: "#2"
          const bx = x1 + dir * 6 + (dir < 0 ? -24 : 0);
          g.append(svg("rect", {x: bx, y: ly - 19, width: 24, height: 13, rx: 6, class: "badge"}));
          g.append(svg("text", {x: bx + 12, y: ly - 9.5, class: "badge-text", "text-anchor": "middle"},
                       "#" + row.attempt));
        }
        g.append(svg("text", {x: LEFT - 8, y: ly + 4, class: "time", "text-anchor": "end"},
                     relative(row.at, t0)));
      } else {
        const ids = row.over === "all" ? m.lifelines.map((l) => l.id)
                                       : row.over.filter((id) => x.has(id));
        const xs = ids.map((id) => x.get(id));
        const left = Math.min(...xs) - col / 2 + 10;
        const right = Math.max(...xs) + col / 2 - 10;
        const lines = wrap(row.text, right - left - 16);
        height = lines.length * LINE + 16;
        g.append(svg("rect", {x: left, y: y + 3, width: right - left, height: height - 6, rx: 4,
                              class: "box"}));
        lines.forEach((line, i) => {
          g.append(svg("text", {x: left + 8, y: y + 3 + 14 + i * LINE, class: "note-text"}, line));
        });
        g.append(svg("text", {x: LEFT - 8, y: y + 17, class: "time", "text-anchor": "end"},
                     relative(row.at, t0)));
      }
      if (onSelect) {
        g.addEventListener("click", () => onSelect(row, g));
        g.addEventListener("keydown", (e) => {
          if (e.key === "Enter" || e.key === " ") onSelect(row, g);
        });
      }
      rows.push(g);
      y += height;
    }
    const bottom = y + 8;

    const lifelines = m.lifelines.map((l) => {
      const cx = x.get(l.id);
      const w = col - 24;
      const kind = l.id.startsWith("service:") ? "service" : l.id;
      return svg("g", {class: "lifeline lifeline-" + kind, "data-lifeline": l.id, "data-label": l.label},
                 svg("line", {x1: cx, y1: HEADER, x2: cx, y2: bottom, class: "life"}),
                 svg("rect", {x: cx - w / 2, y: 4, width: w, height: HEADER - 8, rx: 5, class: "head-box"}),
                 svg("text", {x: cx, y: HEADER / 2 + 4, "text-anchor": "middle", class: "head-text"},
                     cut(l.label, w - 10)),
                 svg("title", {}, l.label));
    });

    const height = bottom + 4;
    return svg("svg", {xmlns: "http://www.w3.org/2000/svg", class: "sequence", width, height,
                       viewBox: `0 0 ${width} ${height}`, role: "img",
                       "aria-label": "the saga's messages as a sequence diagram",
                       "data-lifelines": m.lifelines.length, "data-rows": m.rows.length},
               lifelines, rows);
  }

  return {model, render};
})();
