// Relative times ("12 minutes ago") kept current while a page stays open.
//
// The server writes <time class="ago" datetime="…" title="exact time">; this script
// rewrites the text from the datetime on load, after every htmx swap and every 30 s,
// in the words Django's naturaltime uses. Rows cached on the server say the exact
// time (never stale); here they become relative like the rest. Without JavaScript
// every time stays readable: relative as rendered, or exact.
(function () {
  "use strict";

  var UNITS = [
    [365 * 24 * 3600, "year", "years"],
    [30 * 24 * 3600, "month", "months"],
    [7 * 24 * 3600, "week", "weeks"],
    [24 * 3600, "day", "days"],
    [3600, "hour", "hours"],
    [60, "minute", "minutes"],
  ];
  var NBSP = "\u00a0";

  function count(n, one, many) {
    return n + NBSP + (n === 1 ? one : many);
  }

  // Two adjacent units at most, like Django's timesince: "1 day, 3 hours".
  function since(seconds) {
    for (var i = 0; i < UNITS.length; i++) {
      var first = Math.floor(seconds / UNITS[i][0]);
      if (first === 0) continue;
      var text = count(first, UNITS[i][1], UNITS[i][2]);
      var next = UNITS[i + 1];
      if (next) {
        var second = Math.floor((seconds - first * UNITS[i][0]) / next[0]);
        if (second) text += ", " + count(second, next[1], next[2]);
      }
      return text;
    }
    return count(0, "minute", "minutes");
  }

  // Other languages than English: the browser's own words for "12 minutes ago"
  // (Intl.RelativeTimeFormat), in the page's language: "12분 전".
  var LANG = document.documentElement.lang || "en";
  var INTL_UNITS = [
    [365 * 24 * 3600, "year"],
    [30 * 24 * 3600, "month"],
    [7 * 24 * 3600, "week"],
    [24 * 3600, "day"],
    [3600, "hour"],
    [60, "minute"],
    [1, "second"],
  ];
  var intl =
    LANG.indexOf("en") !== 0 && window.Intl && Intl.RelativeTimeFormat
      ? new Intl.RelativeTimeFormat(LANG, { numeric: "auto" })
      : null;

  function relativeIntl(then, now) {
    var delta = Math.round((then - now) / 1000);
    for (var i = 0; i < INTL_UNITS.length; i++) {
      if (Math.abs(delta) >= INTL_UNITS[i][0] || i === INTL_UNITS.length - 1) {
        return intl.format(Math.trunc(delta / INTL_UNITS[i][0]), INTL_UNITS[i][1]);
      }
    }
  }

  function relative(then, now) {
    if (intl) return relativeIntl(then, now);
    var delta = Math.round((now - then) / 1000);
    var ahead = delta < 0;
    var s = Math.abs(delta);
    var text;
    if (s === 0) return "now";
    if (s < 60) text = s === 1 ? "a second" : count(s, "second", "seconds");
    else if (s < 3600) text = s < 120 ? "a minute" : count(Math.floor(s / 60), "minute", "minutes");
    else if (s < 24 * 3600) text = s < 7200 ? "an hour" : count(Math.floor(s / 3600), "hour", "hours");
    else text = since(s);
    return text + (ahead ? " from now" : " ago");
  }

  function refresh(root) {
    var now = Date.now();
    var times = (root || document).querySelectorAll("time.ago[datetime]");
    for (var i = 0; i < times.length; i++) {
      var then = Date.parse(times[i].getAttribute("datetime"));
      if (isNaN(then)) continue;
      var text = relative(then, now);
      if (times[i].textContent !== text) times[i].textContent = text;
    }
  }

  document.addEventListener("DOMContentLoaded", function () { refresh(document); });
  // An outerHTML swap replaces the target: look at the whole page, a few hundred nodes.
  document.addEventListener("htmx:afterSwap", function () { refresh(document); });
  setInterval(function () { refresh(document); }, 30000);
})();
