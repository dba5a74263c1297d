// Teamline portal: the few behaviours htmx does not cover. No inline scripts anywhere (the
// Content-Security-Policy forbids them), so everything is wired by event delegation here.
(function () {
  "use strict";

  function listFor(input) {
    return document.getElementById(input.getAttribute("aria-controls"));
  }

  function closeList(input, list) {
    list.innerHTML = "";
    input.setAttribute("aria-expanded", "false");
  }

  // A combobox option was chosen: put its value in the input and validate it.
  function choose(option) {
    var list = option.closest('[role="listbox"]');
    var input = list && document.getElementById(list.dataset.for);
    if (!input) return;
    input.value = option.dataset.value;
    closeList(input, list);
    input.dispatchEvent(new Event("change", { bubbles: true }));
    input.focus();
  }

  document.addEventListener("click", function (ev) {
    var option = ev.target.closest('[role="option"][data-value]');
    if (option) {
      ev.preventDefault();
      choose(option);
      return;
    }
    // Close open ⋮ menus when clicking elsewhere.
    document.querySelectorAll("details.actions-menu[open]").forEach(function (d) {
      if (!d.contains(ev.target)) d.removeAttribute("open");
    });
  });

  // Escape closes an open ⋮ menu and puts the focus back on its button.
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    var open = ev.target.closest && ev.target.closest("details.actions-menu[open]");
    if (!open) return;
    open.removeAttribute("open");
    open.querySelector("summary").focus();
  });

  // htmx replaces the User Devices block (Add New Device, SELECT, the device to create): keep
  // the focus in it instead of losing it to the page, on the control with the same id when the
  // new block has one, else on its first control.
  var focusedId = null;
  document.addEventListener("htmx:beforeSwap", function (ev) {
    var active = document.activeElement;
    focusedId = active && ev.detail.target && ev.detail.target.contains(active) ? active.id : null;
  });
  document.addEventListener("htmx:afterSettle", function (ev) {
    var block = document.getElementById("user-devices");
    if (!block || ev.detail.target.id !== "user-devices") return;
    if (document.activeElement && document.activeElement !== document.body && block.contains(document.activeElement)) return;
    var same = focusedId && document.getElementById(focusedId);
    var target = (same && block.contains(same) && !same.disabled) ? same
      : block.querySelector("button:not([disabled]), select, [tabindex]");
    if (target) target.focus();
  });

  document.addEventListener("keydown", function (ev) {
    var input = ev.target.closest && ev.target.closest('[role="combobox"]');
    if (!input) return;
    var list = listFor(input);
    if (!list) return;
    var options = Array.prototype.slice.call(list.querySelectorAll('[role="option"]'));
    if (ev.key === "Escape") {
      closeList(input, list);
      return;
    }
    if (!options.length) return;
    var current = options.findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; });
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      var next = ev.key === "ArrowDown" ? current + 1 : current - 1;
      next = (next + options.length) % options.length;
      options.forEach(function (o, i) { o.setAttribute("aria-selected", i === next ? "true" : "false"); });
      input.setAttribute("aria-activedescendant", options[next].id);
    } else if (ev.key === "Enter") {
      ev.preventDefault();
      choose(options[current >= 0 ? current : 0]);
    }
  });

  // A row refreshing itself must not close the ⋮ menu the admin has open: skip that refresh
  // (the next one comes two seconds later).
  document.addEventListener("htmx:beforeRequest", function (ev) {
    var elt = ev.detail.elt;
    if (elt && elt.matches && elt.matches("tr[id^='user-']") && elt.querySelector("details[open]")) {
      ev.preventDefault();
    }
  });

  // After a failed submit the page comes back with an error summary: move the focus there, so
  // keyboard and screen-reader users hear what to fix (its links lead to each field).
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("form-errors");
    if (summary && !summary.hidden) summary.focus();
  });

  // Times: the server writes UTC (<time datetime>); they are shown in the admin's time zone,
  // the browser's unless changed with the "Times in" choice (kept in this browser).
  var TZ_KEY = "teamline-time-zone";
  function zone() {
    try { return localStorage.getItem(TZ_KEY) || undefined; } catch (e) { return undefined; }
  }
  function localize(root) {
    var tz = zone();
    var fmt;
    try {
      fmt = new Intl.DateTimeFormat(undefined, {
        year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
        timeZone: tz, timeZoneName: "short"
      });
    } catch (e) { return; }
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) t.textContent = fmt.format(d);
    });
  }
  function fillZones() {
    var select = document.getElementById("time-zone");
    if (!select || select.options.length > 1 || !Intl.supportedValuesOf) return;
    var current = zone();
    Intl.supportedValuesOf("timeZone").forEach(function (z) {
      var o = document.createElement("option");
      o.value = z; o.textContent = z; o.selected = z === current;
      select.appendChild(o);
    });
    select.addEventListener("change", function () {
      try {
        if (select.value) localStorage.setItem(TZ_KEY, select.value);
        else localStorage.removeItem(TZ_KEY);
      } catch (e) { /* private mode: this page only */ }
      localize(document);
    });
  }
  // The Audit log's From/To days are the admin's days: tell the server the zone's offset
  // (minutes east of UTC) when the filters are sent.
  function zoneOffset() {
    try {
      var name = new Intl.DateTimeFormat("en-US", { timeZone: zone(), timeZoneName: "longOffset" })
        .formatToParts(new Date()).find(function (p) { return p.type === "timeZoneName"; });
      var m = name && /GMT([+-])(\d{2}):(\d{2})/.exec(name.value);
      if (!m) return 0;
      return (m[1] === "-" ? -1 : 1) * (parseInt(m[2], 10) * 60 + parseInt(m[3], 10));
    } catch (e) { return -new Date().getTimezoneOffset(); }
  }
  document.addEventListener("submit", function (ev) {
    var input = ev.target.querySelector && ev.target.querySelector("input[data-time-zone-offset]");
    if (input) input.value = String(zoneOffset());
  });
  document.addEventListener("DOMContentLoaded", function () { fillZones(); localize(document); });
  document.addEventListener("htmx:afterSettle", function (ev) { localize(ev.detail.target || document); });

  // Keep aria-expanded in step with the options htmx swapped in.
  document.addEventListener("htmx:afterSwap", function (ev) {
    var list = ev.detail.target;
    if (list && list.getAttribute("role") === "listbox") {
      var input = document.getElementById(list.dataset.for);
      if (input) input.setAttribute("aria-expanded", list.children.length ? "true" : "false");
    }
  });
})();

// SET UP PBX USER: a "Use" button next to a dropdown chooses the suggested option, as if the
// admin had picked it (the dropdown's own change handling runs).
document.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-fill]');
  if (!button) return;
  const select = document.getElementById(button.dataset.fill);
  if (!select) return;
  select.value = button.dataset.value;
  select.dispatchEvent(new Event('change', { bubbles: true }));
  select.focus();
});

// Bulk Upload: a file dropped anywhere on the drop zone goes into its file field (the field
// itself takes drops natively; the zone around it is the bigger target).
document.addEventListener('dragover', (event) => {
  const zone = event.target.closest && event.target.closest('.drop-zone');
  if (!zone) return;
  event.preventDefault();
  zone.classList.add('dragging');
});
document.addEventListener('dragleave', (event) => {
  const zone = event.target.closest && event.target.closest('.drop-zone');
  if (zone) zone.classList.remove('dragging');
});
document.addEventListener('drop', (event) => {
  const zone = event.target.closest && event.target.closest('.drop-zone');
  if (!zone || !event.dataTransfer || !event.dataTransfer.files.length) return;
  event.preventDefault();
  zone.classList.remove('dragging');
  const input = zone.querySelector('input[type="file"]');
  if (input) input.files = event.dataTransfer.files;
});
