// The imports page's upload progress: drag and drop onto the file field, the bytes sent (from
// XMLHttpRequest's upload progress), then the rows read (polling the import's progress route)
// until the import is done, then its page. Without this script the form posts as it is and the
// server answers with the import's page.
"use strict";

(function () {
  function poll(url, every, onCounts, onDone) {
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (counts) {
          onCounts(counts);
          if (counts.done) { onDone(counts); } else { setTimeout(tick, every); }
        })
        .catch(function () { setTimeout(tick, every * 3); });
    }
    tick();
  }

  function setRows(bar, counts) {
    bar.value = Math.round((counts.progress || 0) * 100);
  }

  // The import's page: follow a running import until it is done, then show it whole.
  var summary = document.getElementById("import-summary");
  if (summary && summary.dataset.progressUrl) {
    var bar = document.getElementById("import-progress");
    var status = document.getElementById("import-status");
    var rows = document.getElementById("import-rows");
    poll(summary.dataset.progressUrl, Number(summary.dataset.pollMs) || 1000, function (counts) {
      if (bar) { setRows(bar, counts); }
      if (status) { status.textContent = counts.summary.split(":")[0]; }
      if (rows) { rows.textContent = counts.total == null ? String(counts.processed) : counts.processed + " / " + counts.total; }
    }, function () { window.location.reload(); });
  }

  // The upload form.
  var form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) { return; }
  var input = document.getElementById("file");
  var zone = document.getElementById("dropzone");
  var panel = document.getElementById("upload-progress");
  var sent = document.getElementById("sent");
  var rowsBar = document.getElementById("rows");
  var line = document.getElementById("upload-status");
  var every = Number(form.dataset.pollMs) || 1000;

  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) {
      event.preventDefault();
      zone.classList.add("dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("dragging"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length > 0) {
      input.files = event.dataTransfer.files;
    }
  });

  form.addEventListener("submit", function (event) {
    if (!input.files || input.files.length === 0) { return; }
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    panel.hidden = false;
    sent.value = 0;
    rowsBar.value = 0;
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", function (progress) {
      if (progress.lengthComputable) {
        sent.value = Math.round((progress.loaded / progress.total) * 100);
        line.textContent = Math.round(progress.loaded / 1024) + " / " + Math.round(progress.total / 1024) + " KB";
      }
    });
    request.addEventListener("load", function () {
      // The server answers with a redirect to the import's page, which the request followed.
      var page = request.responseURL || "";
      var match = page.match(/\/console\/imports\/([0-9a-f-]{36})$/);
      if (request.status !== 200 || !match) {
        document.open();
        document.write(request.responseText);
        document.close();
        return;
      }
      sent.value = 100;
      poll("/console/imports/" + match[1] + "/progress", every, function (counts) {
        setRows(rowsBar, counts);
        line.textContent = counts.summary;
      }, function () { window.location.assign(page); });
    });
    request.addEventListener("error", function () {
      if (button) { button.disabled = false; }
      line.textContent = "The upload was cut off; try again.";
    });
    request.send(new FormData(form));
  });
})();
