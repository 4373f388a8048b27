/* Guard console: polls one JSON feed every ~2 s with the last event id it has seen and
 * prepends the new events; alerts, people inside and visitors on site are redrawn each time.
 * Everything is built with textContent (names come from people's records).
 */
(function () {
  "use strict";
  // Translations: the JavaScript catalog (base.html) in the page's language; without it, the
  // source text.
  const gettext = window.gettext || ((s) => s);
  const interpolate = window.interpolate || ((f, o) => f.replace(/%\((\w+)\)s/g, (m, k) => String(o[k])));
  const lang = document.documentElement.lang || undefined;
  const cfg = JSON.parse(document.getElementById("console-config").textContent);
  const body = document.getElementById("log-body");
  const filters = document.getElementById("filters");
  const liveText = document.getElementById("live-text");
  const live = document.getElementById("live");
  const MAX_ROWS = 300;
  // The log shows site time (server-formatted); the "updated" stamp must match it.
  const clock = new Intl.DateTimeFormat(lang, {
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZone: cfg.timeZone || undefined,
  });
  const score = new Intl.NumberFormat(lang, { minimumFractionDigits: 3, maximumFractionDigits: 3 });
  let since = 0;
  let timer = null;
  let generation = 0; // a filter change discards answers to older requests
  const drafts = {}; // alert id -> note being typed, kept across redraws

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else if (k === "class") node.className = v;
      else node.setAttribute(k, v);
    }
    (children || []).forEach((c) => c && node.appendChild(c));
    return node;
  }

  function query() {
    const params = new URLSearchParams();
    new FormData(filters).forEach((v, k) => { if (String(v).trim()) params.set(k, String(v).trim()); });
    if (since) params.set("since", since);
    return params.toString();
  }

  function eventRow(e) {
    const who = e.person ? e.person.name : gettext("Unknown");
    const scored = e.score === null ? "" : interpolate(gettext("score %(score)s / threshold %(threshold)s"), {
      score: score.format(e.score), threshold: score.format(e.threshold),
    }, true) + " · " + e.model;
    const row = el("tr", { class: "row-" + e.decision + (since ? " fresh" : ""), "data-event": e.id, "data-at": String(Date.parse(e.at)) }, [
      el("td", {}, [el("time", { text: e.when, datetime: e.at })]),
      el("td", { text: e.point.name, title: e.area.name }),
      el("td", { class: e.person ? "" : "unknown", text: who + (e.person ? " · " + e.person.role : "") }),
      el("td", {}, [el("span", { class: "badge " + e.decision, text: e.decision === "granted" ? gettext("Granted") : gettext("Denied") })]),
      el("td", { class: "wrap", text: e.reason_label, title: e.reason + (scored ? " · " + scored : "") }),
      el("td", { class: "wrap liveness" + (e.liveness && e.liveness.checked && !e.liveness.passed ? " failed" : ""), text: e.liveness_label || "—", title: e.liveness && e.liveness.reason ? e.liveness.reason : "" }),
      el("td", { class: "muted wrap", text: e.rule || (e.pass ? interpolate(gettext("Pass #%(number)s"), { number: e.pass }, true) : "—") }),
    ]);
    return row;
  }

  function renderEvents(events) {
    // Newest first by the time of the decision, not by id: an imported or delayed event
    // (record_past_events) lands among the rows of its own time.
    events.forEach((e) => {
      const row = eventRow(e);
      const at = Number(row.dataset.at);
      const after = Array.from(body.rows).find((r) => Number(r.dataset.at) < at);
      body.insertBefore(row, after || null);
    });
    while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
    document.getElementById("log-empty").hidden = body.rows.length > 0;
  }

  async function act(alert, action, note) {
    const res = await window.FaceCam.post(cfg.alertUrl + alert.id + "/" + action + "/", { note: note });
    if (!res.ok) window.alert(res.body.detail || gettext("The alert could not be updated."));
    delete drafts[alert.id];
    poll();
  }

  function alertItem(a) {
    const noteId = "note-" + a.id;
    const item = el("li", { class: "alert " + a.state, "data-alert": a.id }, [
      el("p", { class: "alert-kind", text: a.kind_label + (a.count > 1 ? " ×" + a.count : "") }),
      el("p", { class: "alert-msg", text: a.message }),
      el("p", { class: "muted small", text: a.count > 1
        ? interpolate(gettext("Since %(first)s, last %(last)s"), { first: a.created, last: a.last }, true)
        : interpolate(gettext("Since %(first)s"), { first: a.created }, true) }),
    ]);
    if (a.state === "open") {
      const note = el("textarea", { id: noteId, rows: "2", placeholder: gettext("What did you do?"), "aria-label": gettext("Note") });
      note.value = drafts[a.id] || "";
      note.addEventListener("input", () => { drafts[a.id] = note.value; });
      const button = el("button", { type: "button", class: "primary small-btn", text: gettext("Acknowledge") });
      button.addEventListener("click", () => act(a, "acknowledge", note.value));
      item.appendChild(note);
      item.appendChild(button);
    } else {
      const by = interpolate(gettext("Acknowledged by %(person)s at %(time)s"), { person: a.acknowledged_by, time: a.acknowledged_at }, true);
      item.appendChild(el("p", { class: "small", text: by + (a.note ? ": " + a.note : "") }));
      const close = el("button", { type: "button", class: "link-btn", text: gettext("Close") });
      close.addEventListener("click", () => act(a, "close", ""));
      item.appendChild(close);
    }
    return item;
  }

  function renderAlerts(alerts) {
    const list = document.getElementById("alerts");
    const active = document.activeElement;
    const typing = active && active.tagName === "TEXTAREA" && list.contains(active);
    if (typing) return; // never pull the note box away from a guard who is typing
    list.replaceChildren(...alerts.map(alertItem));
    document.getElementById("alerts-empty").hidden = alerts.length > 0;
    const open = alerts.filter((a) => a.state === "open").length;
    const count = document.getElementById("alert-count");
    count.textContent = String(open);
    count.className = "count" + (open ? " hot" : "");
  }

  function renderInside(groups) {
    const box = document.getElementById("inside");
    box.replaceChildren(...groups.map((g) => el("div", { class: "inside-area" }, [
      el("h3", { text: g.area + " (" + g.people.length + ")" }),
      el("ul", {}, g.people.map((p) => el("li", {}, [
        el("span", { text: p.name }),
        el("span", { class: "muted small", text: " " + p.role + " · " + interpolate(gettext("%(time)s via %(door)s"), { time: p.since, door: p.point }, true) }),
      ]))),
    ])));
    document.getElementById("inside-empty").hidden = groups.length > 0;
  }

  function renderVisitors(visitors) {
    const list = document.getElementById("visitors");
    list.replaceChildren(...visitors.map((v) => el("li", {}, [
      el("p", {}, [el("strong", { text: v.name }), el("span", { class: "muted", text: " · " + v.kind })]),
      el("p", { class: "small", text: interpolate(gettext("Sponsor: %(sponsor)s · until %(until)s"), { sponsor: v.sponsor, until: v.until }, true) }),
      el("p", { class: "small muted", text: v.last_entry ? interpolate(gettext("Last entry %(entry)s"), { entry: v.last_entry }, true) : gettext("Not arrived yet") }),
    ])));
    document.getElementById("visitors-empty").hidden = visitors.length > 0;
  }

  let inflight = false;
  let again = false;

  async function poll() {
    // One request at a time: overlapping polls would render the same events twice.
    if (inflight) { again = true; return; }
    inflight = true;
    if (timer) clearTimeout(timer);
    const mine = generation;
    try {
      const response = await fetch(cfg.feedUrl + "?" + query(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (response.status === 401 || response.status === 403) {
        liveText.textContent = gettext("Signed out — reload to sign in again");
        live.classList.add("down");
        inflight = false;
        return;
      }
      const data = await response.json();
      if (mine === generation) {
        renderEvents(data.events);
        since = Math.max(since, data.last_id || 0);
        renderAlerts(data.alerts);
        renderInside(data.inside);
        renderVisitors(data.visitors);
        liveText.textContent = interpolate(gettext("Live · updated %(time)s"), { time: clock.format(new Date()) }, true);
        live.classList.remove("down");
      }
    } catch (e) {
      liveText.textContent = gettext("Connection lost, retrying…");
      live.classList.add("down");
    }
    inflight = false;
    if (again) { again = false; poll(); return; }
    timer = setTimeout(poll, cfg.intervalMs);
  }

  let debounce = null;
  function refilter() {
    generation += 1;
    since = 0;
    body.replaceChildren();
    poll();
  }
  filters.addEventListener("change", (e) => { if (e.target.tagName === "SELECT") refilter(); });
  filters.addEventListener("input", (e) => {
    if (e.target.tagName !== "INPUT") return;
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(refilter, 400);
  });
  filters.addEventListener("submit", (e) => e.preventDefault());

  poll();
})();
