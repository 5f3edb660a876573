// The console's one script, all optional: forms marked data-consent open the provider's consent
// in a tab of their own; when ferry's callback says the instance is authorized (and that tab
// closes itself), this page goes on to the instance. Without it, the forms still work.
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[data-consent]");
  var status = document.querySelector(".consent-status");
  forms.forEach(function (form) {
    form.addEventListener("submit", function () {
      // Opened by this script, the consent tab may close itself and tell us when it is done.
      window.open("", "ferry-consent");
      if (status) {
        status.textContent = "Waiting for the provider's consent in the new tab…";
      }
    });
  });
  // Lists that update themselves: their rows are fetched again every two seconds while the tab
  // is visible.
  var live = document.querySelector("[data-live]");
  if (live) {
    setInterval(function () {
      if (document.hidden) return;
      fetch(live.getAttribute("data-live"), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) { if (html !== null && html !== live.innerHTML) live.innerHTML = html; })
        .catch(function () {});
    }, 2000);
  }
  // A page about something still running reloads until it has ended.
  var refresh = document.querySelector("[data-refresh]");
  if (refresh) {
    setTimeout(function () { window.location.reload(); }, Number(refresh.getAttribute("data-refresh")));
  }
  window.addEventListener("message", function (event) {
    var data = event.data || {};
    if (data.ferry === "oauth-complete" && typeof data.instanceId === "number") {
      window.location.assign("/console/instances/" + data.instanceId);
    }
  });
})();
