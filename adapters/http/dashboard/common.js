// What both pages share: calls to the admin API (with the bearer token, asked once and kept in
// sessionStorage), building DOM nodes from values as text (nothing is parsed as markup), and
// formatting. Plain browser JavaScript: no build step, no library.
"use strict";

const Sagaflow = (() => {
  const TOKEN_KEY = "sagaflow.admin-token";

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
                    "failed", "cancelled"];

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

  // Shows an error (an ApiError's body included) in `el`.
  function showError(el, error) {
    const children = [h("strong", {}, error.message)];
    const details = error.body && error.body.error && error.body.error.details;
    if (details !== undefined) children.push(h("pre", {}, json(details)));
    fill(el, ...children);
    el.hidden = false;
  }

  return {h, svg, fill, api, watch, ApiError, statusBadge, time, json, showError, STATUSES};
})();
