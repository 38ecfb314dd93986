import HTTP
import Support
/// The console's two static files, served as they are from the binary.
enum ConsoleAssets {
    /// Live refresh: on each event from `/console/events` (Server-Sent Events), fetch the
    /// page again and swap in its `data-live` regions. Without EventSource, or when the
    /// stream keeps failing, refresh on a timer. Nothing else on the page needs it. It counts
    /// the events (`data-events`, `data-last-event`) and the refreshes (`data-refreshes`) on
    /// `<body>`.
    static let script = #"""
    'use strict';
    (function () {
      var body = document.body;
      if (!document.querySelector('[data-live]')) return;
      var every = parseInt(body.getAttribute('data-refresh-ms') || '10000', 10);
      var busy = false, timer = null, failures = 0;

      function typing() {
        var el = document.activeElement;
        return el && /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(el.tagName);
      }

      function refresh() {
        if (busy || document.hidden || typing()) return;
        busy = true;
        fetch(location.href, { credentials: 'same-origin', cache: 'no-store' })
          .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.text(); })
          .then(function (text) {
            body.dataset.refreshes = String(parseInt(body.dataset.refreshes || '0', 10) + 1);
            var fresh = new DOMParser().parseFromString(text, 'text/html');
            document.querySelectorAll('[data-live]').forEach(function (el) {
              var next = el.id && fresh.getElementById(el.id);
              if (next) el.replaceWith(document.importNode(next, true));
            });
            body.classList.remove('stale');
          })
          .catch(function () { body.classList.add('stale'); })
          .then(function () { busy = false; });
      }

      function poll() { if (!timer) timer = setInterval(refresh, every); }

      if (!window.EventSource) { poll(); return; }
      var source = new EventSource('/console/events');
      ['change', 'tick'].forEach(function (name) {
        source.addEventListener(name, function (event) {
          // what arrived last, for people and tests: <body data-events="3" data-last-event="change">
          body.dataset.events = String(parseInt(body.dataset.events || '0', 10) + 1);
          body.dataset.lastEvent = name;
          refresh();
        });
      });
      source.onopen = function () { failures = 0; };
      source.onerror = function () {
        // each answer carries one event and ends; the browser reconnects after `retry`
        if (++failures > 5) { source.close(); poll(); }
      };
    })();

    """#

    static let stylesheet = #"""
    :root { --fg: #1d2330; --muted: #6b7280; --line: #d8dce3; --bg: #ffffff; --head: #f4f6f9; --accent: #1f5fbf; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
    body.stale main { opacity: 0.7; }
    header { display: flex; gap: 1.5em; align-items: center; padding: 0.6em 1.2em; background: var(--head); border-bottom: 1px solid var(--line); }
    header .brand { font-weight: 600; }
    header nav a { margin-right: 1em; color: var(--accent); text-decoration: none; }
    header .who { margin-left: auto; color: var(--muted); }
    main { padding: 1em 1.2em 3em; max-width: 1400px; }
    h1 { font-size: 1.4em; margin: 0.2em 0 0.6em; }
    h2 { font-size: 1.1em; margin: 1.6em 0 0.5em; }
    table { border-collapse: collapse; width: 100%; }
    th, td { text-align: left; padding: 0.3em 0.5em; border-bottom: 1px solid var(--line); vertical-align: top; }
    th { background: var(--head); font-weight: 600; }
    td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
    pre { white-space: pre-wrap; word-break: break-all; margin: 0; font-size: 12px; }
    .muted { color: var(--muted); }
    .notice { padding: 0.5em 0.8em; background: #eef6ee; border: 1px solid #b9dcb9; }
    .error { padding: 0.5em 0.8em; background: #fbeeee; border: 1px solid #e3b5b5; }
    form.inline { display: inline; }
    form.filters { display: flex; gap: 0.6em; align-items: end; flex-wrap: wrap; margin-bottom: 1em; }
    form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
    .actions { display: flex; gap: 0.8em; align-items: center; margin: 0.5em 0 1em; }
    button { font: inherit; padding: 0.25em 0.8em; }
    button.danger { color: #9b1c1c; }
    ul.states { list-style: none; padding: 0; margin: 0.2em 0 0; display: flex; flex-wrap: wrap; gap: 0.2em 0.8em; font-size: 12px; color: var(--muted); }
    ul.states b { color: var(--fg); font-weight: 600; }
    svg.progress { width: 100%; min-width: 160px; height: 14px; display: block; }
    svg.chart { width: 100%; max-width: 900px; height: auto; display: block; }
    svg .axis { stroke: var(--muted); stroke-width: 1; }
    svg .tick { font-size: 11px; fill: var(--muted); }
    polyline { stroke-width: 2; }
    .line-sends { stroke: #8a94a6; } .line-acceptances { stroke: #1f5fbf; } .line-deliveries { stroke: #2e8b57; }
    .legend .key::before { content: ""; display: inline-block; width: 1em; height: 0.25em; margin-right: 0.3em; vertical-align: middle; }
    .key-sends::before { background: #8a94a6; } .key-acceptances::before { background: #1f5fbf; } .key-deliveries::before { background: #2e8b57; }
    rect.empty { fill: #eceff3; }
    .st-pending { fill: #cfd5de; } .st-sending { fill: #9fb7e0; } .st-in_doubt { fill: #e0b24f; }
    .st-accepted { fill: #6f9be0; } .st-sent { fill: #3f7ad6; } .st-delivered { fill: #2e8b57; }
    .st-undelivered { fill: #c9752f; } .st-failed { fill: #b83232; } .st-expired { fill: #8e6bb3; }
    .st-cancelled { fill: #6b7280; } .st-suppressed { fill: #a3a3a3; } .st-unconfirmed { fill: #d4c35a; }
    .halted { color: #9b1c1c; font-weight: 600; }

    """#
}
