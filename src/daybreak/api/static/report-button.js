/*!
 * Daybreak report / panic button — embeddable SDK (no dependencies, no tracking).
 *
 *   <script src="https://YOUR-DAYBREAK/static/report-button.js"></script>
 *   <script>
 *     DaybreakReport.mount({
 *       endpoint: "/api/daybreak-report",   // your backend, which adds the API key (recommended)
 *       service: "examplestream",
 *       context: () => ({ account_id: currentStream.hostId, username: currentStream.hostName }),
 *     });
 *   </script>
 *
 * What it sends: a JSON report for POST /v1/reports (see docs/tipline.md) with an
 * Idempotency-Key, retried with the same key on network errors and 5xx/429, so a flaky
 * connection never loses a report and never files it twice. It never sends media: only
 * what the viewer types and the identifiers your page passes in `context`.
 *
 * Options:
 *   endpoint   URL to POST to (default "/v1/reports").
 *   apiKey     Daybreak API key (only for a dedicated low-rate key; prefer a backend proxy).
 *   service    your platform's name, used for reported accounts.
 *   context    function returning {account_id, username, profile_url} of who is reported.
 *   reporterType  "public" (default), "platform" or "hotline".
 *   label      button text (default "Report").
 *   panic      true: show a "happening now" panic button that files a live report in one tap.
 *   target     element to put the button in (default: a fixed corner of the page).
 *   onResult   callback({ok, reportId, error}).
 */
(function (global) {
  "use strict";

  var INCIDENTS = [
    ["live_streaming_abuse", "A child is being abused on a live stream"],
    ["online_enticement", "Someone is trying to get a child to do sexual things"],
    ["sextortion", "Someone is threatening a child to get images"],
    ["child_sexual_abuse_material", "Sexual images of a child"],
    ["grooming", "Grooming / unsafe contact with a child"],
    ["other", "Something else that puts a child at risk"],
  ];

  function uuid() {
    if (global.crypto && global.crypto.randomUUID) return global.crypto.randomUUID();
    return "r-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  function buildReport(opts, form) {
    var ctx = (typeof opts.context === "function" ? opts.context() : opts.context) || {};
    var account = {};
    ["account_id", "username", "profile_url"].forEach(function (k) { if (ctx[k]) account[k] = String(ctx[k]); });
    var report = {
      reporter: { type: opts.reporterType || "public" },
      incident_type: form.incident,
      is_live: !!form.live,
      occurred_at: new Date().toISOString(),
    };
    if (opts.service) report.service = String(opts.service);
    if (Object.keys(account).length) {
      account.service = String(opts.service || "unknown");
      report.reported_accounts = [account];
    }
    if (form.description) report.description = form.description.slice(0, 20000);
    if (form.live) report.indicators = ["child_in_immediate_danger"];
    return report;
  }

  // POST with one Idempotency-Key across retries: the server stores the report once.
  function send(opts, report, attempt, key) {
    key = key || uuid();
    attempt = attempt || 0;
    var headers = { "Content-Type": "application/json", "Idempotency-Key": key };
    if (opts.apiKey) headers["X-API-Key"] = opts.apiKey;
    return fetch(opts.endpoint || "/v1/reports", {
      method: "POST", headers: headers, body: JSON.stringify(report), credentials: "same-origin",
    }).then(function (res) {
      if (res.status === 202) return res.json().then(function (b) { return { ok: true, reportId: b.report_id }; });
      if ((res.status >= 500 || res.status === 429) && attempt < 5) return retry(opts, report, attempt, key);
      return res.json().catch(function () { return {}; }).then(function (b) {
        return { ok: false, status: res.status, error: b.detail || res.statusText };
      });
    }, function (err) {
      if (attempt < 5) return retry(opts, report, attempt, key);
      return { ok: false, error: String(err) };
    });
  }

  function retry(opts, report, attempt, key) {
    var wait = Math.min(8000, 500 * Math.pow(2, attempt));
    return new Promise(function (r) { setTimeout(r, wait); }).then(function () {
      return send(opts, report, attempt + 1, key);
    });
  }

  function mount(opts) {
    opts = opts || {};
    var host = opts.target || el("div", { style: "position:fixed;right:16px;bottom:16px;z-index:2147483000;font:14px sans-serif" });
    if (!opts.target) document.body.appendChild(host);
    var status = el("div", { role: "status", "aria-live": "polite", style: "margin-top:6px" });
    var done = function (result) {
      status.textContent = result.ok
        ? "Thank you. Your report was received (reference " + result.reportId + ")."
        : "Sorry, the report could not be sent. Please try again or call your local police.";
      if (typeof opts.onResult === "function") opts.onResult(result);
    };

    var dialog = el("form", { hidden: "", "aria-label": "Report a child at risk",
      style: "background:#fff;border:1px solid #888;padding:12px;max-width:320px" });
    var select = el("select", { name: "incident", required: "" });
    INCIDENTS.forEach(function (i) { select.appendChild(el("option", { value: i[0], text: i[1] })); });
    var live = el("input", { type: "checkbox", name: "live" });
    var text = el("textarea", { name: "description", rows: "3", maxlength: "20000",
      placeholder: "What did you see? (no images, please)" });
    var submit = el("button", { type: "submit", text: "Send report" });
    dialog.appendChild(el("label", {}, [document.createTextNode("What is happening? "), select]));
    dialog.appendChild(el("label", { style: "display:block;margin:6px 0" }, [live, document.createTextNode(" It is happening right now")]));
    dialog.appendChild(text);
    dialog.appendChild(el("div", {}, [submit]));
    dialog.addEventListener("submit", function (ev) {
      ev.preventDefault();
      submit.disabled = true;
      var report = buildReport(opts, { incident: select.value, live: live.checked, description: text.value.trim() });
      send(opts, report).then(function (r) { submit.disabled = false; dialog.hidden = !r.ok ? false : true; done(r); });
    });

    var button = el("button", { type: "button", "aria-haspopup": "dialog", text: opts.label || "Report" });
    button.addEventListener("click", function () { dialog.hidden = !dialog.hidden; });
    host.appendChild(button);
    if (opts.panic) {
      var panic = el("button", { type: "button", style: "margin-left:6px;background:#b00020;color:#fff",
        text: "Child in danger NOW" });
      panic.addEventListener("click", function () {
        panic.disabled = true;
        var report = buildReport(opts, { incident: "live_streaming_abuse", live: true, description: "Panic button" });
        send(opts, report).then(function (r) { panic.disabled = false; done(r); });
      });
      host.appendChild(panic);
    }
    host.appendChild(dialog);
    host.appendChild(status);
    return { send: function (form) { return send(opts, buildReport(opts, form)); } };
  }

  global.DaybreakReport = { mount: mount, buildReport: buildReport, send: send, INCIDENTS: INCIDENTS };
})(typeof window !== "undefined" ? window : this);
