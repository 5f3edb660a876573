// ferry's API docs page: Swagger UI plus the secrets it needs. The secrets stay in this tab's
// session storage; the page signs each call itself so "Try it out" works without the Authorize
// dialog, and the instance page fetches the instance's token so the user never copies it.
(function () {
  "use strict";

  var USER_KEY = "ferry.userSecret";
  var ORGANIZATION_KEY = "ferry.organizationSecret";
  var API = "/elements/api-v2";
  var instanceId = document.body.getAttribute("data-instance");
  var status = document.getElementById("ferry-status");
  var userInput = document.getElementById("ferry-user-secret");
  var organizationInput = document.getElementById("ferry-organization-secret");

  function show(message, isError) {
    status.textContent = message;
    status.className = isError ? "error" : "";
  }

  function secrets() {
    return {
      user: sessionStorage.getItem(USER_KEY) || "",
      organization: sessionStorage.getItem(ORGANIZATION_KEY) || "",
    };
  }

  function platformAuthorization(given) {
    return "User " + given.user + ", Organization " + given.organization;
  }

  function render(options, authorization) {
    window.ui = SwaggerUIBundle(Object.assign({
      dom_id: "#swagger-ui",
      deepLinking: true,
      requestInterceptor: function (request) {
        var value = authorization();
        if (value && !request.headers.Authorization) {
          request.headers.Authorization = value;
        }
        return jsonPartsAsFields(request);
      },
    }, options));
  }

  // Swagger UI sends a multipart part whose encoding is application/json (the "body" of
  // POST /messages) as a file named "blob", which ferry would take for an attachment. Send the
  // JSON as a plain field instead, as curl -F and Cloud Elements' clients do.
  function isJsonBlob(entry) {
    var value = entry[1];
    return typeof value !== "string" && value.name === "blob" && /^application\/json/i.test(value.type);
  }

  function jsonPartsAsFields(request) {
    var form = request.body;
    if (!(form instanceof FormData)) {
      return request;
    }
    var entries = [];
    form.forEach(function (value, name) { entries.push([name, value]); });
    if (!entries.some(isJsonBlob)) {
      return request;
    }
    return Promise.all(entries.map(function (entry) {
      return isJsonBlob(entry)
        ? entry[1].text().then(function (text) { return [entry[0], text]; })
        : entry;
    })).then(function (fields) {
      var rebuilt = new FormData();
      fields.forEach(function (field) { rebuilt.append(field[0], field[1]); });
      request.body = rebuilt;
      return request;
    });
  }

  function failure(response) {
    return response.json().then(
      function (body) { return body.message || response.statusText; },
      function () { return response.statusText; }
    ).then(function (message) {
      throw new Error(response.status + ": " + message);
    });
  }

  function fetchJson(path, authorization) {
    return fetch(path, { headers: { Authorization: authorization } }).then(function (response) {
      return response.ok ? response.json() : failure(response);
    });
  }

  function openInstance() {
    var given = secrets();
    if (!given.user || !given.organization) {
      show("Enter your user and organization secrets to try this instance's API.", false);
      return;
    }
    var authorization = platformAuthorization(given);
    show("Loading instance " + instanceId + "…", false);
    Promise.all([
      fetchJson(API + "/instances/" + instanceId, authorization),
      fetchJson(API + "/instances/" + instanceId + "/docs", authorization),
    ]).then(function (loaded) {
      var instance = loaded[0];
      var token = instance.token;
      show("Instance " + instance.name + " (" + instance.element.name + "): calls are signed with its token.", false);
      render({ spec: loaded[1] }, function () {
        return authorization + ", Element " + token;
      });
    }).catch(function (error) {
      show("Could not load instance " + instanceId + ": " + error.message, true);
    });
  }

  function openPlatform() {
    var given = secrets();
    show(given.user ? "Calls are signed with your secrets." : "Enter your secrets to try the API.", false);
    render({ url: "/openapi.json" }, function () {
      var current = secrets();
      return current.user && current.organization ? platformAuthorization(current) : "";
    });
  }

  function open() {
    if (instanceId) {
      openInstance();
    } else {
      openPlatform();
    }
  }

  document.getElementById("ferry-secrets").addEventListener("submit", function (event) {
    event.preventDefault();
    sessionStorage.setItem(USER_KEY, userInput.value.trim());
    sessionStorage.setItem(ORGANIZATION_KEY, organizationInput.value.trim());
    userInput.value = "";
    organizationInput.value = "";
    open();
  });
  document.getElementById("ferry-forget").addEventListener("click", function () {
    sessionStorage.removeItem(USER_KEY);
    sessionStorage.removeItem(ORGANIZATION_KEY);
    show("Secrets forgotten.", false);
  });

  open();
})();
