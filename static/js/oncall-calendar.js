// Draw the calendar in the browser's time zone: the server renders the zone named in
// ?tz= (else the portal's), so ask once for the browser's and keep it in the address.
(function () {
  var shown = document.getElementById("calendar-zone");
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  if (!shown || !zone) return;
  var params = new URLSearchParams(window.location.search);
  if (params.has("tz") || shown.dataset.zone === zone) return;
  params.set("tz", zone);
  window.location.replace(window.location.pathname + "?" + params.toString());
})();
