// An instance's API docs inside the console: Swagger UI on the instance's document, whose server
// is the console's own hub path; each call carries the session's CSRF token (the session cookie
// goes by itself).
(function () {
  "use strict";
  var csrf = document.body.getAttribute("data-csrf");
  window.ui = SwaggerUIBundle({
    dom_id: "#swagger-ui",
    deepLinking: true,
    url: document.body.getAttribute("data-document"),
    requestInterceptor: function (request) {
      request.headers["X-CSRF-Token"] = csrf;
      return request;
    },
  });
})();
