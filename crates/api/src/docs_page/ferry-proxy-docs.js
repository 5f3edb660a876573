// A proxy's API docs page, for the applications that call it: Swagger UI with the API key the
// proxy's owner handed out. The key stays in this tab's session storage and goes out only as the
// X-API-Key header of "Try it out" calls.
(function () {
  "use strict";

  var basePath = document.body.getAttribute("data-proxy");
  var storageKey = "ferry.proxyKey." + basePath;
  var status = document.getElementById("ferry-status");
  var keyInput = document.getElementById("ferry-api-key");

  function show(message) {
    status.textContent = message;
  }

  function key() {
    return sessionStorage.getItem(storageKey) || "";
  }

  function announce() {
    show(key() ? "Calls are sent with your API key." : "Enter your API key to try the API.");
  }

  window.ui = SwaggerUIBundle({
    dom_id: "#swagger-ui",
    deepLinking: true,
    url: "/docs/proxies/" + basePath + "/openapi.json",
    requestInterceptor: function (request) {
      var current = key();
      if (current && !request.headers["X-API-Key"] && !request.headers.Authorization) {
        request.headers["X-API-Key"] = current;
      }
      return request;
    },
  });

  document.getElementById("ferry-key").addEventListener("submit", function (event) {
    event.preventDefault();
    sessionStorage.setItem(storageKey, keyInput.value.trim());
    keyInput.value = "";
    announce();
  });
  document.getElementById("ferry-forget").addEventListener("click", function () {
    sessionStorage.removeItem(storageKey);
    announce();
  });
  announce();
})();
