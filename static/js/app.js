// Tell the server the viewer's time zone so it can render times locally.
// Only writes the cookie when it changes, to avoid churn on every page load.
(function () {
  "use strict";

  var tz;
  try {
    tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  if (!tz) return;

  var match = document.cookie.match(/(?:^|;\s*)tz=([^;]*)/);
  if (match && match[1] === tz) return;

  // IANA names (e.g. "America/New_York") are cookie-safe as-is; leaving them
  // unencoded means the server can use the value directly.
  var cookie = "tz=" + tz + "; path=/; max-age=31536000; SameSite=Lax";
  if (location.protocol === "https:") cookie += "; Secure";
  document.cookie = cookie;
})();

// Copy buttons: <button data-copy="#id" hidden> copies that element's text. They are
// shown only where the clipboard is available, so a page without it has no dead button.
(function () {
  "use strict";

  if (!navigator.clipboard) return;

  function reveal(root) {
    root.querySelectorAll("[data-copy][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      button.textContent = "Copied";
      setTimeout(function () {
        button.textContent = "Copy";
      }, 2000);
    });
  });
  document.addEventListener("DOMContentLoaded", function () {
    reveal(document);
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    reveal(event.target);
  });
})();

// An in-page (htmx) request refused without a form to swap in (403, 404, 5xx) or that
// got no answer says so above the page (400 and 409 carry their form, see base.html).
(function () {
  "use strict";

  function reason(xhr) {
    try {
      var type = xhr.getResponseHeader("Content-Type") || "";
      if (type.indexOf("json") !== -1) return JSON.parse(xhr.responseText).detail || "";
      var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var node = page.querySelector(".error-reason") || page.querySelector("main h1");
      return node ? node.textContent.trim() : "";
    } catch (e) {
      return "";
    }
  }

  function show(text) {
    var box = document.getElementById("request-error");
    if (!box) {
      var main = document.getElementById("main");
      if (!main) return;
      box = document.createElement("ul");
      box.id = "request-error";
      box.className = "messages";
      box.setAttribute("role", "alert");
      main.prepend(box);
    }
    var item = document.createElement("li");
    item.className = "error";
    item.textContent = text;
    box.replaceChildren(item);
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("request-error");
    if (box) box.hidden = true;
  });
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var why = reason(xhr);
    show("Not done (" + xhr.status + ")" + (why ? ": " + why : "."));
  });
  document.addEventListener("htmx:sendError", function () {
    show("The server could not be reached: nothing was changed. Try again.");
  });
})();
