/* Timesheet "My data": delete my face data (DELETE /api/biometrics/me/face-data/), after an
 * inline confirmation (keyboard-usable, no window.confirm). The JSON export is a plain link. */
(function () {
  "use strict";
  // Translations: the JavaScript catalog (base.html) in the page's language; without it, the
  // source text.
  const gettext = window.gettext || ((s) => s);
  const ngettext = window.ngettext || ((one, many, n) => (n === 1 ? one : many));
  const interpolate = window.interpolate || ((f, o) => f.replace(/%\((\w+)\)s/g, (m, k) => String(o[k])));
  const A = window.Attendance;
  const cfg = A.config();
  const button = document.getElementById("delete-face");
  const confirmBox = document.getElementById("delete-confirm");
  const result = document.getElementById("privacy-result");
  if (!button) return;
  const yes = document.getElementById("delete-yes");
  const no = document.getElementById("delete-no");

  button.addEventListener("click", () => {
    confirmBox.hidden = false;
    yes.focus();
  });
  no.addEventListener("click", () => {
    confirmBox.hidden = true;
    button.focus();
  });
  yes.addEventListener("click", async () => {
    yes.disabled = true;
    const res = await A.send("DELETE", cfg.faceDataUrl);
    yes.disabled = false;
    confirmBox.hidden = true;
    if (res.ok) {
      const n = (res.body.erased && res.body.erased.templates) || 0;
      const text = ngettext(
        "Your face data is deleted (%(count)s template). Clock in with your PIN, or enrol again.",
        "Your face data is deleted (%(count)s templates). Clock in with your PIN, or enrol again.", n);
      A.show(result, "ok", "<p>" + A.escapeHtml(interpolate(text, { count: n }, true)) + "</p>");
      button.hidden = true;
    } else {
      A.show(result, "bad", "<p>" + A.escapeHtml(res.body.detail || gettext("Your face data could not be deleted.")) + "</p>");
    }
    result.setAttribute("tabindex", "-1");
    result.focus();
  });
})();
