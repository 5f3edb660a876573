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
  window.addEventListener("message", function (event) {
    var data = event.data || {};
    if (data.ferry === "oauth-complete" && typeof data.instanceId === "number") {
      window.location.assign("/console/instances/" + data.instanceId);
    }
  });
})();
