// The board's few behaviours, without any library: confirmations, the queue list's polling,
// a job's payload loaded lazily (and revealed by admins), and a bulk action's progress.
"use strict";

const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";
const clock = (date) => date.toISOString().slice(11, 19);

async function getJson(url, options = {}) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, ...options });
  let body = null;
  try {
    body = await response.json();
  } catch {
    throw new Error(`HTTP ${response.status} with a body that is not JSON`);
  }
  if (!response.ok) throw new Error(body?.error ?? `HTTP ${response.status}`);
  return body;
}

function confirmations() {
  document.addEventListener("submit", (event) => {
    const question = event.target.dataset?.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });
}

function queuePolling() {
  const status = document.getElementById("read-status");
  const rows = document.getElementById("queue-rows");
  const error = document.getElementById("read-error");
  if (!status || !rows || !error) return;
  let lastGood = null;
  const refresh = async () => {
    try {
      const data = await getJson(status.dataset.poll);
      rows.innerHTML = data.rows_html;
      lastGood = new Date(data.read_at);
      status.textContent = `Read at ${clock(lastGood)} UTC · refreshes every 5 s`;
      error.hidden = true;
    } catch (failure) {
      const since = lastGood ? ` The figures below were read at ${clock(lastGood)} UTC.` : "";
      error.textContent = `Could not read the queues at ${clock(new Date())} UTC: ${failure.message}.${since}`;
      error.hidden = false;
    }
  };
  setInterval(refresh, 5000);
}

function showPayload(box, data) {
  const pre = box.querySelector("pre");
  const note = box.querySelector(".payload-note");
  pre.textContent = data.text;
  const parts = [`${data.total_bytes.toLocaleString("en")} bytes`];
  parts.push(data.redacted ? "personal fields redacted" : "unredacted");
  if (data.truncated) parts.push("cut at the preview limit");
  note.textContent = parts.join(" · ");
  box.classList.toggle("revealed", !data.redacted);
}

function payloadLoading() {
  const box = document.getElementById("payload");
  if (!box) return;
  const pre = box.querySelector("pre");
  getJson(box.dataset.src)
    .then((data) => showPayload(box, data))
    .catch((failure) => {
      pre.textContent = `Could not load the payload: ${failure.message}`;
      pre.classList.add("error");
    });
  const reveal = document.getElementById("reveal-payload");
  if (!reveal) return;
  reveal.addEventListener("click", async () => {
    if (!window.confirm("Show this payload unredacted? The reveal is recorded in the audit log.")) return;
    reveal.disabled = true;
    try {
      showPayload(box, await getJson(reveal.dataset.url, { method: "POST", headers: { Accept: "application/json", "X-CSRF-Token": csrfToken() } }));
    } catch (failure) {
      pre.textContent = `Could not reveal the payload: ${failure.message}`;
      reveal.disabled = false;
    }
  });
}

function bulkProgress() {
  const box = document.getElementById("bulk-progress");
  if (!box) return;
  const bar = box.querySelector("progress");
  const text = box.querySelector(".progress-text");
  const state = box.querySelector(".progress-state");
  const refresh = async () => {
    try {
      const data = await getJson(box.dataset.poll);
      bar.max = Math.max(data.expected_count, 1);
      bar.value = data.processed;
      text.textContent = `${data.processed} of ${data.expected_count} processed, ${data.changed} changed`;
      state.textContent = data.state + (data.error ? `: ${data.error}` : "");
      state.className = `progress-state pill state-${data.state}`;
      if (data.state === "running") setTimeout(refresh, 1000);
      else document.getElementById("bulk-stop")?.remove();
    } catch (failure) {
      text.textContent = `Could not read the progress: ${failure.message}; retrying`;
      setTimeout(refresh, 3000);
    }
  };
  if (box.dataset.running === "true") setTimeout(refresh, 500);
}

document.addEventListener("DOMContentLoaded", () => {
  confirmations();
  queuePolling();
  payloadLoading();
  bulkProgress();
});
