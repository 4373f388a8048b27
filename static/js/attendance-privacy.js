/* Timesheet "My data": delete my face data (DELETE /api/biometrics/me/face-data/), after an
 * inline confirmation (keyboard-usable, no window.confirm). The JSON export is a plain link. */
(function () {
  "use strict";
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
      A.show(result, "ok", "<p>Your face data is deleted (" + n + " templates). Clock in with your PIN, or enrol again.</p>");
      button.hidden = true;
    } else {
      A.show(result, "bad", "<p>" + A.escapeHtml(res.body.detail || "Your face data could not be deleted.") + "</p>");
    }
    result.setAttribute("tabindex", "-1");
    result.focus();
  });
})();
