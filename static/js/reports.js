/* Report dashboards: fetch the data endpoint, draw Chart.js charts and tables, keep the CSV
   links in step with the filters. No inline script anywhere (CSP script-src 'self'); the page
   passes its configuration with json_script. */
(function () {
  "use strict";
  // Translations: the JavaScript catalog (base.html) in the page's language; without it, the
  // source text. Numbers, dates and the charts follow the same language.
  var gettext = window.gettext || function (s) { return s; };
  var ngettext = window.ngettext || function (one, many, n) { return n === 1 ? one : many; };
  var pgettext = window.pgettext || function (c, s) { return s; };
  var interpolate = window.interpolate || function (f, o) {
    return f.replace(/%\((\w+)\)s/g, function (m, k) { return String(o[k]); });
  };
  var lang = document.documentElement.lang || undefined;
  var numbers = new Intl.NumberFormat(lang, { maximumFractionDigits: 2 });
  // Column headings: the data keeps its machine names (they are the CSV's too).
  var COLUMN_LABELS = {
    absent: pgettext("report column", "absent"),
    acknowledged: pgettext("report column", "acknowledged"),
    alerts: pgettext("report column", "alerts"),
    area: pgettext("report column", "area"),
    avg_late_minutes: pgettext("report column", "avg late minutes"),
    clock_ins: pgettext("report column", "clock ins"),
    consecutive: pgettext("report column", "consecutive"),
    contractors: pgettext("report column", "contractors"),
    coverage_percent: pgettext("report column", "coverage percent"),
    date: pgettext("report column", "date"),
    days_present: pgettext("report column", "days present"),
    decision: pgettext("report column", "decision"),
    denials: pgettext("report column", "denials"),
    denied: pgettext("report column", "denied"),
    department: pgettext("report column", "department"),
    detail: pgettext("report column", "detail"),
    device: pgettext("report column", "device"),
    direction: pgettext("report column", "direction"),
    door: pgettext("report column", "door"),
    door_denials: pgettext("report column", "door denials"),
    ended: pgettext("report column", "ended"),
    enrolled: pgettext("report column", "enrolled"),
    entries: pgettext("report column", "entries"),
    face_errors: pgettext("report column", "face errors"),
    face_no_match: pgettext("report column", "face no match"),
    failed_total: pgettext("report column", "failed total"),
    first_in: pgettext("report column", "first in"),
    flagged_sessions: pgettext("report column", "flagged sessions"),
    granted: pgettext("report column", "granted"),
    hour: pgettext("report column", "hour"),
    hours: pgettext("report column", "hours"),
    kind: pgettext("report column", "kind"),
    label: pgettext("report column", "label"),
    last_out: pgettext("report column", "last out"),
    late: pgettext("report column", "late"),
    late_days: pgettext("report column", "late days"),
    late_minutes: pgettext("report column", "late minutes"),
    liveness_refusals: pgettext("report column", "liveness refusals"),
    locked_until: pgettext("report column", "locked until"),
    lockouts: pgettext("report column", "lockouts"),
    low_quality: pgettext("report column", "low quality"),
    mean_granted_score: pgettext("report column", "mean granted score"),
    mean_minutes_to_ack: pgettext("report column", "mean minutes to ack"),
    method: pgettext("report column", "method"),
    mode: pgettext("report column", "mode"),
    needs_review: pgettext("report column", "needs review"),
    not_enrolled: pgettext("report column", "not enrolled"),
    open: pgettext("report column", "open"),
    overtime_hours: pgettext("report column", "overtime hours"),
    pass_ends: pgettext("report column", "pass ends"),
    people: pgettext("report column", "people"),
    percent: pgettext("report column", "percent"),
    person: pgettext("report column", "person"),
    pin_fallback: pgettext("report column", "pin fallback"),
    present: pgettext("report column", "present"),
    purpose: pgettext("report column", "purpose"),
    reason: pgettext("report column", "reason"),
    reason_text: pgettext("report column", "reason text"),
    role: pgettext("report column", "role"),
    scheduled: pgettext("report column", "scheduled"),
    score: pgettext("report column", "score"),
    score_from: pgettext("report column", "score from"),
    sessions: pgettext("report column", "sessions"),
    sponsor: pgettext("report column", "sponsor"),
    spoof_at_door: pgettext("report column", "spoof at door"),
    spoof_suspected: pgettext("report column", "spoof suspected"),
    started: pgettext("report column", "started"),
    state: pgettext("report column", "state"),
    status: pgettext("report column", "status"),
    subject: pgettext("report column", "subject"),
    subject_type: pgettext("report column", "subject type"),
    threshold: pgettext("report column", "threshold"),
    time: pgettext("report column", "time"),
    total: pgettext("report column", "total"),
    unknown_faces: pgettext("report column", "unknown faces"),
    updated: pgettext("report column", "updated"),
    username: pgettext("report column", "username"),
    visitors: pgettext("report column", "visitors"),
    weekday: pgettext("report column", "weekday"),
    when: pgettext("report column", "when"),
  };

  var config = JSON.parse(document.getElementById("report-config").textContent);
  var charts = {};
  var COLORS = {
    ok: "#2da44e", late: "#d4a72c", bad: "#cf222e", blue: "#1f6feb", orange: "#fb8500",
    grey: "#8c959f", purple: "#8250df", teal: "#1b7c83", navy: "#0d1b2a"
  };
  var SERIES = ["#1f6feb", "#2da44e", "#fb8500", "#8250df", "#1b7c83", "#cf222e", "#d4a72c", "#8c959f"];

  if (window.Chart) {
    Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    Chart.defaults.color = "#1d2733";
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.animation = false;
    Chart.defaults.plugins.legend.position = "bottom";
    Chart.defaults.locale = lang;
  }

  function column(table, name) {
    var i = table.columns.indexOf(name);
    return table.rows.map(function (r) { return r[i]; });
  }

  function draw(name, type, data, options) {
    var canvas = document.querySelector('canvas[data-chart="' + name + '"]');
    if (!canvas) { return null; }
    if (charts[name]) { charts[name].destroy(); }
    charts[name] = new Chart(canvas, { type: type, data: data, options: options || {} });
    return charts[name];
  }

  function shortDate(iso) {
    var d = new Date(iso + "T12:00:00");
    return d.toLocaleDateString(lang, { day: "numeric", month: "short" });
  }

  function stackedOptions(extra) {
    var o = {
      responsive: true,
      interaction: { mode: "index", intersect: false },
      scales: { x: { stacked: true, grid: { display: false } }, y: { stacked: true, beginAtZero: true } }
    };
    return Object.assign(o, extra || {});
  }

  function renderTable(name, table, options) {
    options = options || {};
    document.querySelectorAll('table[data-table="' + name + '"]').forEach(function (el) {
      var cols = table.columns.map(function (c, i) { return { name: c, i: i }; }).filter(function (c) {
        if ((c.name === "kind" || c.name === "method") && table.columns.indexOf("label") >= 0) { return false; }
        return c.name !== "url" && c.name !== "person_id";
      });
      var head = document.createElement("tr");
      cols.forEach(function (c) {
        var th = document.createElement("th");
        th.textContent = COLUMN_LABELS[c.name] || c.name.replace(/_/g, " ");
        head.appendChild(th);
      });
      el.tHead.replaceChildren(head);
      var body = document.createDocumentFragment();
      var url = table.columns.indexOf("url");
      table.rows.forEach(function (row) {
        var tr = document.createElement("tr");
        cols.forEach(function (c, n) {
          var td = document.createElement("td");
          var value = row[c.i] === null || row[c.i] === undefined ? "—" : row[c.i];
          if (n === 0 && url >= 0 && row[url]) {
            var a = document.createElement("a");
            a.href = row[url];
            a.textContent = value;
            td.appendChild(a);
          } else if (c.name === "person" && url >= 0 && row[url]) {
            var link = document.createElement("a");
            link.href = row[url];
            link.textContent = value;
            td.appendChild(link);
          } else {
            td.textContent = typeof value === "number" ? numbers.format(value) : value;
          }
          if (options.highlight && options.highlight(c.name, row[c.i], row)) { td.className = options.highlight(c.name, row[c.i], row); }
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
      if (!table.rows.length) {
        var empty = document.createElement("tr");
        var td = document.createElement("td");
        td.colSpan = cols.length || 1;
        td.className = "muted";
        td.textContent = gettext("Nothing in this range.");
        empty.appendChild(td);
        body.appendChild(empty);
      }
      el.tBodies[0].replaceChildren(body);
      var note = document.querySelector('[data-note="' + name + '"]');
      if (note) {
        note.textContent = table.total > table.rows.length
          ? interpolate(gettext("Showing %(shown)s of %(total)s rows; the CSV has them all."), {
            shown: numbers.format(table.rows.length), total: numbers.format(table.total)
          }, true) : "";
      }
    });
  }

  function kpis(items) {
    var list = document.getElementById("kpis");
    if (!list) { return; }
    list.replaceChildren.apply(list, items.map(function (k) {
      var li = document.createElement("li");
      if (k.tone) { li.className = k.tone; }
      var span = document.createElement("span");
      span.textContent = typeof k.value === "number" ? numbers.format(k.value) : k.value;
      li.appendChild(span);
      li.appendChild(document.createTextNode(k.label));
      return li;
    }));
  }

  function percent(share) {
    return new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 }).format(share);
  }

  function sum(values) { return values.reduce(function (a, b) { return a + (Number(b) || 0); }, 0); }

  /* ------------------------------------------------------------------ attendance */
  function attendance(t) {
    var days = t.daily;
    var labels = column(days, "date").map(shortDate);
    var present = column(days, "present"), late = column(days, "late");
    draw("days", "bar", {
      labels: labels,
      datasets: [
        { label: gettext("On time"), data: present.map(function (p, i) { return p - late[i]; }), backgroundColor: COLORS.ok },
        { label: gettext("Late"), data: late, backgroundColor: COLORS.late },
        { label: gettext("Absent (scheduled, no clock-in)"), data: column(days, "absent"), backgroundColor: COLORS.bad }
      ]
    }, stackedOptions());

    var people = t.people;
    var top = people.rows.slice(0, 25);
    var idx = function (n) { return people.columns.indexOf(n); };
    var hoursChart = draw("hours", "bar", {
      labels: top.map(function (r) { return r[idx("person")]; }),
      datasets: [
        { label: gettext("Regular hours"), data: top.map(function (r) { return Math.round((r[idx("hours")] - r[idx("overtime_hours")]) * 10) / 10; }), backgroundColor: COLORS.blue },
        { label: gettext("Overtime"), data: top.map(function (r) { return r[idx("overtime_hours")]; }), backgroundColor: COLORS.orange }
      ]
    }, stackedOptions({
      indexAxis: "y",
      scales: { x: { stacked: true, beginAtZero: true, title: { display: true, text: gettext("hours") } }, y: { stacked: true, ticks: { autoSkip: false } } },
      onClick: function (event, elements) {
        if (elements.length) { window.location.href = top[elements[0].index][idx("url")]; }
      },
      onHover: function (event, elements) {
        event.native.target.style.cursor = elements.length ? "pointer" : "default";
      }
    }));
    if (hoursChart) { hoursChart.canvas.parentNode.style.height = Math.max(260, 28 * top.length + 80) + "px"; hoursChart.resize(); }

    draw("lateness", "line", {
      labels: labels,
      datasets: [
        { label: gettext("Late arrivals"), data: late, borderColor: COLORS.late, backgroundColor: COLORS.late, yAxisID: "y", tension: 0.2 },
        { label: gettext("Average minutes late"), data: column(days, "avg_late_minutes"), borderColor: COLORS.purple, backgroundColor: COLORS.purple, borderDash: [4, 3], yAxisID: "y1", tension: 0.2 }
      ]
    }, {
      interaction: { mode: "index", intersect: false },
      scales: {
        y: { beginAtZero: true, title: { display: true, text: gettext("people") } },
        y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: gettext("minutes") } }
      }
    });

    renderTable("people", people, {
      highlight: function (name, value) {
        if (name === "overtime_hours" && value > 0) { return "overtime"; }
        if ((name === "late_days" || name === "flagged_sessions") && value > 0) { return "late"; }
        return "";
      }
    });
    renderTable("open_sessions", t.open_sessions);
    renderTable("review", t.review);

    var m = t.methods;
    if (m) {
      var METHOD_COLORS = { face_1n: COLORS.blue, face_1v1: COLORS.teal, pin: COLORS.orange, correction: COLORS.grey };
      draw("methods", "bar", {
        labels: column(m, "label"),
        datasets: [{
          label: gettext("Clock-ins"),
          data: column(m, "clock_ins"),
          backgroundColor: column(m, "method").map(function (k) { return METHOD_COLORS[k] || COLORS.purple; })
        }]
      }, { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } });
      renderTable("methods", m);
    }

    var lastWithData = days.rows.filter(function (r) { return r[2] > 0; }).pop();
    kpis([
      { value: lastWithData ? lastWithData[2] : 0, label: lastWithData ? interpolate(gettext("present on %(day)s"), { day: shortDate(lastWithData[0]) }, true) : gettext("present") },
      { value: lastWithData ? lastWithData[3] : 0, label: gettext("late that day"), tone: lastWithData && lastWithData[3] ? "warn" : "" },
      { value: Math.round(sum(column(people, "hours"))), label: gettext("hours worked in range") },
      { value: Math.round(sum(column(people, "overtime_hours"))), label: gettext("overtime hours"), tone: "warn" },
      { value: t.open_sessions.total, label: gettext("open sessions"), tone: t.open_sessions.total ? "bad" : "" },
      { value: t.review.total, label: gettext("waiting for review"), tone: t.review.total ? "bad" : "" }
    ]);
  }

  /* ------------------------------------------------------------------ access */
  // The data's weekday keys; shown in the page's language (1 Jan 2024 was a Monday).
  var WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
  var WEEKDAY_NAMES = WEEKDAYS.map(function (k, i) {
    return new Date(2024, 0, 1 + i, 12).toLocaleDateString(lang, { weekday: "short" });
  });

  var OTHER_AREAS = gettext("Other areas");

  function byArea(hourly, key, buckets) {
    var areaTotals = {};
    hourly.rows.forEach(function (r) { areaTotals[r[0]] = (areaTotals[r[0]] || 0) + r[3]; });
    var areas = Object.keys(areaTotals).sort(function (a, b) { return areaTotals[b] - areaTotals[a]; });
    var shown = areas.slice(0, 6);
    var series = {};
    shown.concat([OTHER_AREAS]).forEach(function (a) { series[a] = buckets.map(function () { return 0; }); });
    hourly.rows.forEach(function (r) {
      var name = shown.indexOf(r[0]) >= 0 ? r[0] : OTHER_AREAS;
      var pos = buckets.indexOf(key(r));
      if (pos >= 0) { series[name][pos] += r[3]; }
    });
    return Object.keys(series).filter(function (a) { return sum(series[a]) > 0; }).map(function (a, i) {
      return { label: a, data: series[a], backgroundColor: SERIES[i % SERIES.length] };
    });
  }

  function heatmap(hourly) {
    var table = document.getElementById("heatmap");
    if (!table) { return; }
    var grid = WEEKDAYS.map(function () { return new Array(24).fill(0); });
    hourly.rows.forEach(function (r) { grid[WEEKDAYS.indexOf(r[1])][r[2]] += r[3]; });
    var max = Math.max.apply(null, grid.map(function (row) { return Math.max.apply(null, row); })) || 1;
    var head = document.createElement("tr");
    head.appendChild(document.createElement("th"));
    for (var h = 0; h < 24; h++) {
      var th = document.createElement("th");
      th.textContent = String(h).padStart(2, "0");
      head.appendChild(th);
    }
    var rows = [head];
    grid.forEach(function (counts, d) {
      var tr = document.createElement("tr");
      var th = document.createElement("th");
      th.textContent = WEEKDAY_NAMES[d];
      tr.appendChild(th);
      counts.forEach(function (n, hour) {
        var td = document.createElement("td");
        var share = n / max;
        td.style.backgroundColor = n ? "rgba(31, 111, 235, " + (0.08 + 0.92 * share).toFixed(2) + ")" : "transparent";
        if (share > 0.55) { td.className = "strong"; }
        td.textContent = n ? numbers.format(n) : "";
        td.title = WEEKDAY_NAMES[d] + " " + String(hour).padStart(2, "0") + ":00 — " +
          interpolate(ngettext("%(count)s entry", "%(count)s entries", n), { count: numbers.format(n) }, true);
        tr.appendChild(td);
      });
      rows.push(tr);
    });
    table.replaceChildren.apply(table, rows);
  }

  function access(t) {
    var hours = []; for (var h = 0; h < 24; h++) { hours.push(h); }
    draw("by-hour", "bar", {
      labels: hours.map(function (h) { return String(h).padStart(2, "0") + ":00"; }),
      datasets: byArea(t.hourly, function (r) { return r[2]; }, hours)
    }, stackedOptions());
    draw("by-weekday", "bar", {
      labels: WEEKDAY_NAMES,
      datasets: byArea(t.hourly, function (r) { return r[1]; }, WEEKDAYS)
    }, stackedOptions());
    heatmap(t.hourly);

    var d = t.daily, labels = column(d, "date").map(shortDate);
    draw("decisions", "bar", {
      labels: labels,
      datasets: [
        { label: gettext("Granted"), data: column(d, "granted"), backgroundColor: COLORS.ok },
        { label: gettext("Denied"), data: column(d, "denied"), backgroundColor: COLORS.bad }
      ]
    }, stackedOptions());
    draw("reasons", "bar", {
      labels: column(t.reasons, "label").map(function (l) { return l.length > 48 ? l.slice(0, 46) + "…" : l; }),
      datasets: [{ label: gettext("Denials"), data: column(t.reasons, "denials"), backgroundColor: COLORS.bad }]
    }, { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true } } });

    var a = t.alerts;
    draw("alerts", "bar", {
      labels: column(a, "label"),
      datasets: [
        { label: gettext("Acknowledged within 5 min"), data: column(a, "acked_within_5_min"), backgroundColor: COLORS.ok },
        { label: gettext("5–15 min"), data: a.rows.map(function (r, i) { return column(a, "acked_within_15_min")[i] - column(a, "acked_within_5_min")[i]; }), backgroundColor: COLORS.late },
        { label: gettext("15–60 min"), data: a.rows.map(function (r, i) { return column(a, "acked_within_60_min")[i] - column(a, "acked_within_15_min")[i]; }), backgroundColor: COLORS.orange },
        { label: gettext("Later"), data: a.rows.map(function (r, i) { return column(a, "acknowledged")[i] - column(a, "acked_within_60_min")[i]; }), backgroundColor: COLORS.purple },
        { label: gettext("Not acknowledged"), data: a.rows.map(function (r, i) { return column(a, "alerts")[i] - column(a, "acknowledged")[i]; }), backgroundColor: COLORS.bad }
      ]
    }, stackedOptions({ indexAxis: "y", scales: { x: { stacked: true, beginAtZero: true }, y: { stacked: true } } }));
    renderTable("alerts", a);

    draw("visitors", "bar", {
      labels: labels,
      datasets: [
        { label: gettext("Visitors"), data: column(d, "visitors"), backgroundColor: COLORS.teal },
        { label: gettext("Contractors"), data: column(d, "contractors"), backgroundColor: COLORS.purple }
      ]
    }, stackedOptions());
    renderTable("on_site", t.on_site);

    draw("scores", "bar", {
      labels: column(t.scores, "score_from"),
      datasets: [
        { label: gettext("Granted"), data: column(t.scores, "granted"), backgroundColor: COLORS.ok },
        { label: gettext("Denied"), data: column(t.scores, "denied"), backgroundColor: COLORS.bad }
      ]
    }, stackedOptions({ scales: { x: { stacked: true, title: { display: true, text: gettext("cosine similarity (higher = more alike)") } }, y: { stacked: true, beginAtZero: true } } }));
    draw("quality", "line", {
      labels: labels,
      datasets: [
        { label: gettext("Unknown faces"), data: column(d, "unknown_faces"), borderColor: COLORS.bad, backgroundColor: COLORS.bad, tension: 0.2 },
        { label: gettext("Liveness refusals"), data: column(d, "liveness_refusals"), borderColor: COLORS.purple, backgroundColor: COLORS.purple, tension: 0.2 },
        { label: gettext("Poor images"), data: column(d, "low_quality"), borderColor: COLORS.late, backgroundColor: COLORS.late, tension: 0.2 },
        { label: gettext("Mean granted score"), data: column(d, "mean_granted_score"), borderColor: COLORS.blue, backgroundColor: COLORS.blue, borderDash: [4, 3], yAxisID: "y1", tension: 0.2 }
      ]
    }, {
      interaction: { mode: "index", intersect: false },
      scales: { y: { beginAtZero: true }, y1: { position: "right", grid: { drawOnChartArea: false }, suggestedMin: 0.9, suggestedMax: 1 } }
    });

    var granted = sum(column(d, "granted")), denied = sum(column(d, "denied"));
    kpis([
      { value: granted, label: gettext("entries granted") },
      { value: denied, label: interpolate(gettext("denied (%(share)s)"), { share: percent(granted + denied ? denied / (granted + denied) : 0) }, true), tone: denied ? "bad" : "" },
      { value: sum(column(a, "open")), label: gettext("alerts still open"), tone: sum(column(a, "open")) ? "bad" : "" },
      { value: sum(column(d, "unknown_faces")), label: gettext("unknown faces") },
      { value: t.on_site.total, label: gettext("visitors and contractors on site now") }
    ]);
  }

  /* ------------------------------------------------------------------ security */
  function security(t) {
    var dv = t.devices;
    draw("devices", "bar", {
      labels: column(dv, "device"),
      datasets: [
        { label: gettext("Door denials"), data: column(dv, "door_denials"), backgroundColor: COLORS.bad },
        { label: gettext("Face no match"), data: column(dv, "face_no_match"), backgroundColor: COLORS.orange },
        { label: gettext("Face errors"), data: column(dv, "face_errors"), backgroundColor: COLORS.grey }
      ]
    }, stackedOptions({ indexAxis: "y", scales: { x: { stacked: true, beginAtZero: true }, y: { stacked: true, ticks: { autoSkip: false } } } }));
    renderTable("devices", dv);
    var d = t.daily;
    draw("security-daily", "line", {
      labels: column(d, "date").map(shortDate),
      datasets: [
        { label: gettext("Door denials"), data: column(d, "door_denials"), borderColor: COLORS.bad, backgroundColor: COLORS.bad, tension: 0.2 },
        { label: gettext("Face no match"), data: column(d, "face_no_match"), borderColor: COLORS.orange, backgroundColor: COLORS.orange, tension: 0.2 },
        { label: gettext("Spoof suspected"), data: column(d, "spoof_suspected"), borderColor: COLORS.purple, backgroundColor: COLORS.purple, tension: 0.2 },
        { label: gettext("Lockouts"), data: column(d, "lockouts"), borderColor: COLORS.navy, backgroundColor: COLORS.navy, tension: 0.2 }
      ]
    }, { interaction: { mode: "index", intersect: false }, scales: { y: { beginAtZero: true } } });
    var c = t.coverage;
    draw("coverage", "bar", {
      labels: column(c, "department"),
      datasets: [
        { label: gettext("Enrolled"), data: column(c, "enrolled"), backgroundColor: COLORS.ok },
        { label: gettext("No face template"), data: column(c, "not_enrolled"), backgroundColor: COLORS.bad }
      ]
    }, stackedOptions());
    renderTable("coverage", c, { highlight: function (name, value) { return name === "coverage_percent" && value < 90 ? "late" : ""; } });
    renderTable("lockouts", t.lockouts, { highlight: function (name, value) { return name === "state" && value !== "failing" ? "flag" : ""; } });
    renderTable("unenrolled", t.unenrolled);
    var people = sum(column(c, "people")), enrolled = sum(column(c, "enrolled"));
    kpis([
      { value: sum(column(dv, "failed_total")), label: gettext("failed attempts"), tone: "bad" },
      { value: sum(column(d, "spoof_suspected")), label: gettext("spoof suspected"), tone: sum(column(d, "spoof_suspected")) ? "bad" : "" },
      { value: t.lockouts.rows.filter(function (r) { return r[2] !== "failing"; }).length, label: gettext("locked or disabled now") },
      { value: percent(people ? enrolled / people : 0), label: interpolate(gettext("enrolment coverage (%(count)s without)"), { count: numbers.format(people - enrolled) }, true) }
    ]);
  }

  /* ------------------------------------------------------------------ person page */
  function person() {
    var cols = config.columns, rows = config.rows;
    var at = function (n) { return cols.indexOf(n); };
    draw("person", "bar", {
      labels: rows.map(function (r) { return shortDate(r[at("date")]); }),
      datasets: [
        { label: gettext("Hours"), data: rows.map(function (r) { return Math.round((r[at("hours")] - r[at("overtime_hours")]) * 100) / 100; }), backgroundColor: COLORS.blue, stack: "h" },
        { label: gettext("Beyond the daily limit"), data: rows.map(function (r) { return r[at("overtime_hours")]; }), backgroundColor: COLORS.orange, stack: "h" },
        { label: gettext("Minutes late"), data: rows.map(function (r) { return r[at("late_minutes")] || null; }), type: "line", borderColor: COLORS.late, backgroundColor: COLORS.late, yAxisID: "y1", showLine: false, pointRadius: 4 }
      ]
    }, stackedOptions({
      scales: {
        x: { stacked: true, grid: { display: false } },
        y: { stacked: true, beginAtZero: true, title: { display: true, text: gettext("hours") } },
        y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: gettext("minutes late") } }
      }
    }));
  }

  /* ------------------------------------------------------------------ loading */
  var RENDER = { attendance: attendance, access: access, security: security };
  var form = document.getElementById("report-filters");

  function updateLinks(query) {
    document.querySelectorAll("a.csv[data-export]").forEach(function (a) {
      a.href = config.exportUrl.replace("NAME", a.dataset.export) + (query ? "?" + query : "");
    });
  }

  function load(query) {
    document.body.classList.add("loading");
    return fetch(config.dataUrl + (query ? "?" + query : ""), {
      credentials: "same-origin", headers: { Accept: "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) { throw new Error(JSON.stringify(body.errors || body)); }
        return body;
      });
    }).then(function (body) {
      RENDER[config.report](body.tables);
      updateLinks(query);
      document.body.dataset.loaded = query || "default";
    }).catch(function (error) {
      var list = document.getElementById("kpis");
      if (list) {
        var li = document.createElement("li");
        li.className = "bad";
        li.textContent = interpolate(gettext("Could not load the report: %(error)s"), { error: error.message }, true);
        list.replaceChildren(li);
      }
    }).finally(function () { document.body.classList.remove("loading"); });
  }

  if (config.report === "person") {
    person();
    return;
  }
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var params = new URLSearchParams(new FormData(form));
      Array.from(params.keys()).forEach(function (k) { if (!params.get(k)) { params.delete(k); } });
      var query = params.toString();
      history.replaceState(null, "", window.location.pathname + (query ? "?" + query : ""));
      load(query);
    });
  }
  load(config.query);
})();
