// A product page whose product page is being read, or whose text is being embedded, refreshes
// itself until that is done, for at most ten minutes from the first refresh (after that the
// work has stalled and the page's refresh link is the way on).
// Without this script the page says so and offers a refresh link.
"use strict";

(function () {
  var pending = document.getElementById("scrape-pending");
  var key = "recete.refreshing." + window.location.pathname;
  if (!pending) {
    try { window.sessionStorage.removeItem(key); } catch (ignored) { /* storage off: nothing kept */ }
    return;
  }
  var every = Number(pending.dataset.refreshMs) || 2000;
  var since = Date.now();
  try {
    since = Number(window.sessionStorage.getItem(key)) || since;
    window.sessionStorage.setItem(key, String(since));
  } catch (ignored) { /* storage off: each page load starts its own ten minutes */ }
  if (Date.now() - since > 10 * 60 * 1000) { return; }
  setTimeout(function () { window.location.reload(); }, every);
})();
