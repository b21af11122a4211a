// Draw the calendar in the browser's time zone: the server renders the zone named in
// ?tz= (else the person's chosen one, else the portal's), so ask once for the browser's
// and keep it in the address, unless the person chose a zone in their preferences.
(function () {
  var shown = document.getElementById("calendar-zone");
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  if (!shown || !zone || "chosen" in shown.dataset) return;
  var params = new URLSearchParams(window.location.search);
  if (params.has("tz") || shown.dataset.zone === zone) return;
  params.set("tz", zone);
  window.location.replace(window.location.pathname + "?" + params.toString());
})();
