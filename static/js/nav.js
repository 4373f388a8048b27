/* Every page: the top menu (a Menu button on narrow screens, the groups Attendance, Access, ...
 * as disclosure lists; without this script the menu shows every link and wraps, faceauth.css),
 * and wide tables that scroll sideways inside their .table-wrap become keyboard-reachable
 * regions (WCAG 2.1.1: a scrolling box must take focus to be scrolled without a mouse).
 */
(function () {
  "use strict";
  // Translations: the JavaScript catalog (base.html) in the page's language; without it, the
  // source text.
  const gettext = window.gettext || ((s) => s);
  const ngettext = window.ngettext || ((one, many, n) => (n === 1 ? one : many));
  const interpolate = window.interpolate || ((f, o) => f.replace(/%\((\w+)\)s/g, (m, k) => String(o[k])));
  function start() {
    const bar = document.querySelector(".topbar");
    const menu = document.getElementById("site-menu");
    if (!bar || !menu) return;
    bar.classList.add("js-menu");
    const toggle = bar.querySelector(".menu-toggle");
    const groups = Array.from(bar.querySelectorAll(".menu-group-toggle"));

    function setOpen(button, open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
    }
    function closeGroups(except) {
      groups.forEach((g) => { if (g !== except) setOpen(g, false); });
    }

    if (toggle) {
      toggle.hidden = false;
      toggle.addEventListener("click", () => {
        const open = toggle.getAttribute("aria-expanded") !== "true";
        setOpen(toggle, open);
        menu.classList.toggle("open", open);
      });
    }
    groups.forEach((g) => g.addEventListener("click", () => {
      const open = g.getAttribute("aria-expanded") !== "true";
      closeGroups(g);
      setOpen(g, open);
    }));
    document.addEventListener("click", (e) => { if (!bar.contains(e.target)) closeGroups(null); });
    document.addEventListener("keydown", (e) => {
      if (e.key !== "Escape") return;
      const open = groups.find((g) => g.getAttribute("aria-expanded") === "true");
      if (open) { setOpen(open, false); open.focus(); }
    });
    // Leaving a group with Tab closes it, so that an open list never hides the page.
    bar.addEventListener("focusout", (e) => {
      groups.forEach((g) => {
        const item = g.parentElement;
        if (!item.contains(e.relatedTarget)) setOpen(g, false);
      });
    });
  }
  function scrollRegions() {
    const wraps = Array.from(document.querySelectorAll(".table-wrap"));
    function mark(wrap) {
      if (wrap.scrollWidth <= wrap.clientWidth || wrap.hasAttribute("tabindex")) return;
      wrap.setAttribute("tabindex", "0");
      if (!wrap.hasAttribute("role")) wrap.setAttribute("role", "region");
      if (!wrap.hasAttribute("aria-label") && !wrap.hasAttribute("aria-labelledby")) {
        const box = wrap.closest("section, article, main");
        const heading = box && box.querySelector("h1, h2, h3");
        wrap.setAttribute("aria-label", heading ? heading.textContent.trim() : gettext("Table"));
      }
    }
    if (window.ResizeObserver) {
      const observer = new ResizeObserver((entries) => entries.forEach((e) => mark(e.target.closest(".table-wrap"))));
      wraps.forEach((w) => { observer.observe(w); if (w.firstElementChild) observer.observe(w.firstElementChild); });
    } else {
      wraps.forEach(mark);
    }
  }
  function ready() { start(); scrollRegions(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
