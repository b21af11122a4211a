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
