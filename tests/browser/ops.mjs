// Drives the queue board in Debian's chromium: signs in, screenshots the queue list, the job
// search and a job's page, clicks "Retry now" and checks the page says it is done, then retries
// the other dead jobs in bulk through the confirmation page, and shows the schedules.
//
// Environment: BOARD_URL (http://127.0.0.1:PORT), BOARD_TOKEN (an operator's token), JOB_ID (a
// dead job), SCREENSHOT_DIR, and what tests/browser/browser.mjs reads. Exits non-zero with the
// reason on any failure.
import path from "node:path";

import { fail, launch, required, screenshotDir } from "./browser.mjs";

const board = required("BOARD_URL");
const token = required("BOARD_TOKEN");
const jobId = required("JOB_ID");
const shots = screenshotDir();
const { page, problems, close } = await launch({ viewport: { width: 1360, height: 820 }, defaultTimeout: 20_000 });

try {
  // "Cancel this job?" and the like: a person would say yes.
  page.on("dialog", (dialog) => dialog.accept());

  await page.goto(`${board}/ops`);
  if (!page.url().includes("/ops/sign-in")) fail(`expected the sign-in page, got ${page.url()}`);
  await page.fill("#token", token);
  await Promise.all([page.waitForURL(`${board}/ops`), page.click("button[type=submit]")]);
  await page.waitForSelector("#queue-rows tr");
  // One poll, so the screenshot shows the refreshed list and the polling works.
  await page.waitForFunction(() => /Read at \d\d:\d\d:\d\d UTC/.test(document.getElementById("read-status").textContent));
  await page.screenshot({ path: path.join(shots, "queues.png"), fullPage: true });

  await page.goto(`${board}/ops/jobs?state=dead`);
  await page.waitForSelector(`tr[data-job-id="${jobId}"]`);
  await page.screenshot({ path: path.join(shots, "jobs.png"), fullPage: true });

  await page.click(`tr[data-job-id="${jobId}"] a`);
  await page.waitForURL(`${board}/ops/jobs/${jobId}`);
  await page.waitForFunction(() => {
    const text = document.querySelector("#payload pre")?.textContent ?? "";
    return text.length > 0 && !text.startsWith("Loading");
  });
  const payload = await page.textContent("#payload pre");
  if (payload.startsWith("Could not load")) fail(payload);
  if (!payload.includes("[redacted]")) fail("the payload is shown without redaction");
  await page.screenshot({ path: path.join(shots, "job.png"), fullPage: true });

  await Promise.all([page.waitForURL(/done=retry/), page.click(`form[action$="/${jobId}/retry"] button`)]);
  const flash = await page.textContent(".flash.ok");
  if (!flash.includes("Done: retry")) fail(`after retrying, the page says: ${flash}`);
  await page.screenshot({ path: path.join(shots, "job-retried.png"), fullPage: true });

  // The other dead jobs, in bulk: the confirmation page's count, then the progress page.
  await page.goto(`${board}/ops/jobs?state=dead`);
  await Promise.all([page.waitForURL(/\/ops\/bulk\/confirm/), page.click("text=Retry all matching")]);
  await page.waitForSelector("#bulk-count");
  await page.screenshot({ path: path.join(shots, "bulk-confirm.png"), fullPage: true });
  await Promise.all([page.waitForURL(/\/ops\/bulk\/[0-9a-f-]{36}$/), page.click("#confirm-bulk")]);
  await page.waitForFunction(() => document.querySelector(".progress-state")?.textContent.startsWith("done"));
  await page.screenshot({ path: path.join(shots, "bulk-progress.png"), fullPage: true });

  await page.goto(`${board}/ops/schedules`);
  await page.waitForSelector("table.schedules");
  await page.screenshot({ path: path.join(shots, "schedules.png"), fullPage: true });

  if (problems.length > 0) fail(problems.join("\n"));
  console.log(JSON.stringify({ signed_in: true, retried: jobId, screenshots: shots }));
} catch (error) {
  fail(error.stack || String(error));
} finally {
  await close();
}
