// The inbox's live updates. Listens to /console/inbox/events (Server-Sent Events of the store's
// conversation events); on each one that concerns this page it fetches the page again and swaps
// in its live part (the list, or the thread above the reply box, so a reply being typed is kept),
// and counts unread events in the window's title, e.g. "(3) Inbox", until the page is looked at.
// Without this script the pages read and their forms post the same; reloading updates them.
(function () {
  "use strict";
  var live = document.querySelector("[data-live]");
  if (!live || !window.EventSource || !window.fetch || !window.DOMParser) {
    return;
  }
  var conversation = live.getAttribute("data-conversation");
  var title = document.title;
  var unread = 0;
  var busy = false;
  var again = false;

  function showUnread() {
    document.title = unread > 0 ? "(" + unread + ") " + title : title;
  }

  function seen() {
    if (!document.hidden && unread > 0) {
      unread = 0;
      showUnread();
    }
  }

  function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    fetch(window.location.pathname + window.location.search, {
      credentials: "same-origin",
      headers: { Accept: "text/html" }
    })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (!html) {
          return;
        }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(live.id);
        if (fresh) {
          live.replaceWith(fresh);
          live = fresh;
        }
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  function received(event) {
    var about = null;
    try {
      var body = JSON.parse(event.data);
      about = body && body.data ? body.data.conversation_id : null;
    } catch (ignored) {
      return;
    }
    if (conversation && about !== conversation) {
      return;
    }
    unread += 1;
    showUnread();
    refresh();
  }

  var source = new EventSource("/console/inbox/events");
  ["conversation.handed_over", "conversation.message_received", "message.failed"].forEach(function (type) {
    source.addEventListener(type, received);
  });
  document.addEventListener("visibilitychange", seen);
  window.addEventListener("focus", seen);
  document.addEventListener("click", seen);
  document.addEventListener("keydown", seen);
})();
