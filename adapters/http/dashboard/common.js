// What both pages share: calls to the admin API (with the bearer token, asked once and kept in
// sessionStorage), building DOM nodes from values as text (nothing is parsed as markup), and
// formatting. Plain browser JavaScript: no build step, no library.
"use strict";

const Sagaflow = (() => {
  const TOKEN_KEY = "sagaflow.admin-token";
  const ACTOR_KEY = "sagaflow.actor";  // who the audit log names (set on the Audit page)

  // ---------------------------------------------------------------------------------------
  // DOM: h("a", {href: url, class: "x"}, "text", child...) builds an element; strings become
  // text nodes, so a value from the API can never become markup.
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttributes(el, attrs);
    append(el, children);
    return el;
  }

  function setAttributes(el, attrs) {
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith("on") && typeof value === "function") {
        el.addEventListener(name.slice(2), value);
      } else {
        el.setAttribute(name, value === true ? "" : String(value));
      }
    }
  }

  function append(el, children) {
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  // Replaces an element's children.
  function fill(el, ...children) {
    el.replaceChildren();
    append(el, children);
    return el;
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== undefined && value !== null) el.setAttribute(name, String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  // ---------------------------------------------------------------------------------------
  // The token: asked for when an /api call answers 401, once per tab.
  function token() {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  }

  let asking = null;  // one prompt, whatever the number of calls that need it
  function askToken(message) {
    if (asking) return asking;
    const dialog = document.getElementById("token-dialog");
    const form = dialog.querySelector("form");
    const input = dialog.querySelector("input[name=token]");
    fill(dialog.querySelector(".message"), message);
    input.value = "";
    asking = new Promise((resolve) => {
      form.addEventListener("submit", function submitted(event) {
        event.preventDefault();
        form.removeEventListener("submit", submitted);
        sessionStorage.setItem(TOKEN_KEY, input.value.trim());
        dialog.close();
        asking = null;
        resolve();
      });
    });
    dialog.showModal();
    input.focus();
    return asking;
  }

  // An answer that is not 2xx: `body` is the API's JSON error when there is one.
  class ApiError extends Error {
    constructor(status, body, text) {
      const error = body && body.error;
      super(error ? `${status} ${error.code}: ${error.message}` : `HTTP ${status}: ${text}`);
      this.status = status;
      this.body = body;
    }
  }

  // Calls the API: the parsed JSON body of a 2xx, else throws ApiError. A 401 asks for the
  // token and tries again.
  async function api(path, options = {}) {
    for (;;) {
      const headers = {...(options.headers || {}), Accept: "application/json"};
      if (token()) headers.Authorization = "Bearer " + token();
      // The name set on the Audit page, unless the caller names someone (a repair's actor).
      if (!headers["X-Sagaflow-Actor"] && localStorage.getItem(ACTOR_KEY)) {
        headers["X-Sagaflow-Actor"] = localStorage.getItem(ACTOR_KEY);
      }
      if (options.body !== undefined) headers["Content-Type"] = "application/json";
      const response = await fetch(path, {
        method: options.method || "GET",
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        cache: "no-store",
      });
      const text = await response.text();
      let body = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch (e) {
        body = null;
      }
      if (response.status === 401) {
        await askToken(token() ? "The token was refused; enter the admin token again."
                               : "This endpoint needs the admin token.");
        continue;
      }
      if (!response.ok) throw new ApiError(response.status, body, text);
      return body;
    }
  }

  // Watches the sagas' changes (GET /api/sagas/events, Server-Sent Events) read through fetch,
  // so that the token goes in a header as for every call: calls onEvent(type, data) for each
  // event ("open", "saga", "gap"). A stream that ends or fails is opened again after a second,
  // resuming after the last event seen (a "gap" says when the daemon no longer had some).
  // Returns a function that stops watching.
  function watch(params, onEvent) {
    let lastId = "";
    let stopped = false;
    let controller = null;
    const dispatch = (block) => {
      let type = "message";
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) type = line.slice(7);
        else if (line.startsWith("id: ")) lastId = line.slice(4);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (!data) return;
      try {
        onEvent(type, JSON.parse(data));
      } catch (e) {
        // an event the page cannot read: the next one may do
      }
    };
    async function run() {
      while (!stopped) {
        try {
          const q = new URLSearchParams(params);
          if (lastId) q.set("last_event_id", lastId);
          const headers = {Accept: "text/event-stream"};
          if (token()) headers.Authorization = "Bearer " + token();
          controller = new AbortController();
          const response = await fetch("/api/sagas/events?" + q.toString(),
                                       {headers, cache: "no-store", signal: controller.signal});
          if (response.status === 401) {
            await askToken("This endpoint needs the admin token.");
            continue;
          }
          if (response.ok && response.body) {
            const reader = response.body.getReader();
            const decoder = new TextDecoder();
            let text = "";
            for (;;) {
              const {value, done} = await reader.read();
              if (done) break;
              text += decoder.decode(value, {stream: true});
              let end;
              while ((end = text.indexOf("\n\n")) >= 0) {
                dispatch(text.slice(0, end));
                text = text.slice(end + 2);
              }
            }
          }
        } catch (e) {
          // the daemon went away, or too many streams: try again below
        }
        if (!stopped) await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
    run();
    return () => {
      stopped = true;
      if (controller) controller.abort();
    };
  }

  // ---------------------------------------------------------------------------------------
  // Formatting
  const STATUSES = ["pending", "running", "waiting", "compensating", "completed", "compensated",
                    "failed", "cancelled", "paused"];

  function statusBadge(status) {
    return h("span", {class: "status status-" + (STATUSES.includes(status) ? status : "unknown"),
                      "data-status": status}, status);
  }

  // "2026-11-23T10:00:00.000Z" -> "2026-11-23 10:00:00.000" (UTC, as the API gives it).
  function time(text) {
    return text ? String(text).replace("T", " ").replace(/Z$/, "") : "";
  }

  function json(value) {
    return JSON.stringify(value, null, 2);
  }

  // Milliseconds as a short duration: "850 ms", "12.4 s", "3 min 05 s", "2 h 07 min", "3 d 4 h".
  function duration(ms) {
    if (!Number.isFinite(ms) || ms < 0) return "";
    if (ms < 1000) return `${Math.round(ms)} ms`;
    const s = ms / 1000;
    if (s < 60) return `${s.toFixed(1)} s`;
    const pad = (n) => String(n).padStart(2, "0");
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${pad(Math.floor(s % 60))} s`;
    const hours = Math.floor(m / 60);
    if (hours < 24) return `${hours} h ${pad(m % 60)} min`;
    return `${Math.floor(hours / 24)} d ${hours % 24} h`;
  }

  // A saga's duration: from its start to its last change once it has ended (or parked),
  // else to now. {ms, ended}.
  const SETTLED = ["completed", "compensated", "cancelled", "failed"];
  function sagaDuration(saga, now = Date.now()) {
    const ended = SETTLED.includes(saga.status);
    const from = Date.parse(saga.created_at);
    const to = ended ? Date.parse(saga.updated_at) : now;
    return {ms: to - from, ended};
  }

  // ---------------------------------------------------------------------------------------
  // The flow's input contract (GET /api/flows: `input`), checked in the page before a start is
  // sent, with the server's messages (docs/flow-language.md, "How a start's input is checked"),
  // so that a mistake reads the same whichever side finds it. The server checks again: a
  // number written 3.0 is an integer here (JSON.parse cannot tell) and refused there.
  const MAX_PROBLEMS = 20;
  const EXPECTED = {string: "a string", number: "a number", integer: "an integer",
                    boolean: "a boolean", object: "an object", array: "an array",
                    any: "any value"};

  function describeValue(value) {
    if (value === null) return "null";
    if (value === true || value === false) return String(value);
    if (typeof value === "number") {
      return Number.isInteger(value) ? `the integer ${value}` : `the number ${value}`;
    }
    if (typeof value === "string") {
      const cut = value.length > 40 ? value.slice(0, 40) + "..." : value;
      return "the string " + JSON.stringify(cut);
    }
    return Array.isArray(value) ? "an array" : "an object";
  }

  function hasType(value, type) {
    switch (type) {
      case "string": return typeof value === "string";
      case "number": return typeof value === "number";
      case "integer": return typeof value === "number" && Number.isInteger(value);
      case "boolean": return typeof value === "boolean";
      case "object": return value !== null && typeof value === "object" && !Array.isArray(value);
      case "array": return Array.isArray(value);
      default: return true;
    }
  }

  function childPath(path, name) {
    return /^[A-Za-z0-9_-]+$/.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`;
  }

  // Problems of `input` against `contract` ({fields, additional_fields}; null: any object),
  // each {path, message}, in the server's order; at most MAX_PROBLEMS, `omitted` the rest.
  function checkInput(contract, input) {
    const problems = [];
    let found = 0;
    const add = (path, text) => {
      if (++found <= MAX_PROBLEMS) problems.push({path, message: `${path}: ${text}`});
    };
    const checkObject = (path, value, fields, additional) => {
      for (const field of fields) {
        const v = value[field.name];
        const p = `${path}.${field.name}`;  // a declared name is always a plain one
        if (v === undefined || v === null) {
          if (field.required) {
            add(p, `required field is ${v === null ? "null" : "missing"} ` +
                   `(expected ${EXPECTED[field.type]})`);
          }
          continue;
        }
        checkValue(p, v, field);
      }
      if (additional) return;
      const declared = new Set(fields.map((f) => f.name));
      const names = fields.map((f) => f.name);
      const listed = names.length === 0 ? "it declares no fields"
          : "expected fields: " + names.slice(0, 10).join(", ") + (names.length > 10 ? ", ..." : "");
      for (const name of Object.keys(value).sort()) {
        if (!declared.has(name)) add(childPath(path, name), `unknown field (${listed})`);
      }
    };
    const checkValue = (path, value, decl) => {
      if (!hasType(value, decl.type)) {
        add(path, `expected ${EXPECTED[decl.type]}, got ${describeValue(value)}`);
        return;
      }
      if (decl.type === "object" && decl.fields) {
        checkObject(path, value, decl.fields, decl.additional_fields);
      }
      if (decl.type === "array" && decl.items) {
        value.forEach((item, i) => checkValue(`${path}[${i}]`, item, decl.items));
      }
    };
    if (!hasType(input, "object")) {
      add("input", `expected an object, got ${describeValue(input)}`);
    } else if (contract) {
      checkObject("input", input, contract.fields, contract.additional_fields);
    }
    return {problems, omitted: Math.max(0, found - MAX_PROBLEMS)};
  }

  // An input that shows what the contract asks for: every declared field with an empty value
  // of its type, for the editor to start from.
  function inputTemplate(contract) {
    const empty = (decl) => {
      switch (decl.type) {
        case "string": return "";
        case "number": case "integer": return 0;
        case "boolean": return false;
        case "array": return [];
        case "object": return decl.fields ? fieldsTemplate(decl.fields) : {};
        default: return null;
      }
    };
    const fieldsTemplate = (fields) => Object.fromEntries(fields.map((f) => [f.name, empty(f)]));
    return contract ? fieldsTemplate(contract.fields) : {};
  }

  // Shows an error (an ApiError's body included) in `el`.
  function showError(el, error) {
    const children = [h("strong", {}, error.message)];
    const details = error.body && error.body.error && error.body.error.details;
    if (details !== undefined) children.push(h("pre", {}, json(details)));
    fill(el, ...children);
    el.hidden = false;
  }

  // An action's outcome box (data-outcome pending, then what the caller sets, or refused):
  // pending while the request is out; refused with the API's error as it came (its HTTP status
  // in data-http-status), after `what` ("Cancel refused: ").
  function outcomePending(el, text) {
    el.hidden = false;
    el.className = "result";
    el.dataset.outcome = "pending";
    fill(el, text);
  }

  function outcomeRefused(el, error, what) {
    el.dataset.outcome = "refused";
    el.dataset.httpStatus = error.status || "";
    el.classList.add("error");
    showError(el, error);
    el.prepend(h("strong", {}, what));
  }

  return {h, svg, fill, api, watch, ApiError, statusBadge, time, json, showError, STATUSES,
          duration, sagaDuration, checkInput, inputTemplate, SETTLED, outcomePending,
          outcomeRefused, ACTOR_KEY};
})();
