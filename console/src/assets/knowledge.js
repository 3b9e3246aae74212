// A product page whose product page is being read refreshes itself until the scrape is done.
// Without this script the page says so and offers a refresh link.
"use strict";

(function () {
  var pending = document.getElementById("scrape-pending");
  if (!pending) { return; }
  var every = Number(pending.dataset.refreshMs) || 2000;
  setTimeout(function () { window.location.reload(); }, every);
})();
