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
