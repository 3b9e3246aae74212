// Walks the merchant console's whole story in Debian's chromium: sign in through a one-time
// link, drop a CSV export on the imports page and watch the bytes and then the rows reach 100 %,
// open an imported order, have a product page read and embedded, ask a test question, receive a
// hand-over live in the inbox (this script signs and sends the customer's WhatsApp webhook as
// Meta would, while the inbox is open), reply, resolve, and read the attributed order on the
// analytics page. A screenshot of each step goes to SCREENSHOT_DIR as console-*.png.
//
// Environment: CONSOLE_URL (http://127.0.0.1:PORT), LINK_PATH (a one-time sign-in link's path),
// EXPORT_FILE (the CSV to upload), PRODUCT_URL (a product page to read), WHATSAPP_SECRET (the
// app secret Meta signs with), PHONE_NUMBER_ID, CUSTOMER_WA_ID, REPLY_TEXT, SCREENSHOT_DIR, and
// what tests/browser/browser.mjs reads. Exits non-zero with the reason on any failure.
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";

import { fail, launch, required, screenshotDir } from "./browser.mjs";

const base = required("CONSOLE_URL");
const linkPath = required("LINK_PATH");
const exportFile = required("EXPORT_FILE");
const productUrl = required("PRODUCT_URL");
const whatsappSecret = required("WHATSAPP_SECRET");
const phoneNumberId = required("PHONE_NUMBER_ID");
const customer = required("CUSTOMER_WA_ID");
const replyText = required("REPLY_TEXT");
const PASSWORD = "correct horse battery staple, twice";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/// Meta's webhook for a customer's text message, signed with the app secret as Meta signs it.
async function customerWrites(text, wamid) {
  const body = JSON.stringify({
    object: "whatsapp_business_account",
    entry: [{
      id: "102290129340398",
      changes: [{
        field: "messages",
        value: {
          messaging_product: "whatsapp",
          metadata: { display_phone_number: "15550783881", phone_number_id: phoneNumberId },
          contacts: [{ profile: { name: "Ada" }, wa_id: customer }],
          messages: [{ from: customer, id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type: "text", text: { body: text } }],
        },
      }],
    }],
  });
  const signature = "sha256=" + createHmac("sha256", whatsappSecret).update(body).digest("hex");
  const response = await fetch(`${base}/webhooks/whatsapp`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-hub-signature-256": signature },
    body,
  });
  check(response.status === 200, `the WhatsApp webhook was answered ${response.status}`);
}

const shots = screenshotDir();
const shot = (page, name) => page.screenshot({ path: path.join(shots, `console-${name}.png`), fullPage: true });
const { page, problems, close } = await launch({ viewport: { width: 1280, height: 860 }, defaultTimeout: 30_000 });

try {
  // Signing in: the one-time link asks for a password, then opens the inbox.
  await page.goto(`${base}${linkPath}`);
  await page.fill("#password", PASSWORD);
  await page.fill("#repeat", PASSWORD);
  await Promise.all([page.waitForURL(`${base}/console/inbox`), page.click("button[type=submit]")]);
  await shot(page, "inbox");

  // Imports: the file dropped on the drop zone, then both bars followed to the end.
  const progress = { sent: 0, rows: 0 };
  await page.exposeFunction("recordProgress", (id, value) => {
    progress[id] = Math.max(progress[id], Number(value));
  });
  await page.goto(`${base}/console/imports`);
  await page.selectOption("#kind", "orders");
  await page.evaluate(() => {
    for (const id of ["sent", "rows"]) {
      const bar = document.getElementById(id);
      new MutationObserver(() => window.recordProgress(id, bar.value)).observe(bar, { attributes: true });
    }
  });
  const name = path.basename(exportFile);
  const dropped = await page.evaluateHandle(({ name, text }) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([text], name, { type: "text/csv" }));
    return transfer;
  }, { name, text: readFileSync(exportFile, "utf8") });
  await page.dispatchEvent("#dropzone", "dragenter", { dataTransfer: dropped });
  await page.dispatchEvent("#dropzone", "drop", { dataTransfer: dropped });
  const chosen = await page.evaluate(() => Array.from(document.getElementById("file").files).map((file) => file.name));
  check(chosen.length === 1 && chosen[0] === name, `the drop chose ${JSON.stringify(chosen)}`);
  await Promise.all([
    page.waitForURL(/\/console\/imports\/[0-9a-f-]{36}$/, { timeout: 120_000 }),
    page.click("#upload-form button[type=submit]"),
  ]);
  check(progress.sent === 100, `the bytes bar ended at ${progress.sent} %`);
  check(progress.rows === 100, `the rows bar ended at ${progress.rows} %`);
  await page.waitForSelector("#import-summary");
  const summary = await page.textContent("main");
  check(summary.includes("completed") && summary.includes(name), `the import's page: ${summary}`);
  check(await page.$(`a[href$="/errors.csv"]`), "the failed rows can be downloaded");
  for (const problem of [
    "neither an email nor a phone number",
    "not a valid phone number for DE",
    "must be a whole number of at least 1",
  ]) {
    check(summary.includes(problem), `the import's page names the problem "${problem}"`);
  }
  await shot(page, "import");

  // An imported order and its items.
  await page.goto(`${base}/console/orders`);
  await Promise.all([
    page.waitForURL(/\/console\/orders\/[0-9a-f-]{36}$/),
    page.click(`a[href^="/console/orders/"]:text-is("#1001")`),
  ]);
  const order = await page.textContent("main");
  check(order.includes("Daily Sunscreen SPF 50"), `the order's page: ${order}`);
  await shot(page, "order");

  // Knowledge: a product page read and embedded while the product's page refreshes itself.
  await page.goto(`${base}/console/knowledge`);
  await page.fill("#url", productUrl);
  await Promise.all([
    page.waitForURL(/\/console\/knowledge\/products\/[0-9a-f-]{36}$/),
    page.click(`form[action="/console/knowledge/scrape"] button[type=submit]`),
  ]);
  const productPage = page.url();
  const readBy = Date.now() + 180_000;
  let seen = "";
  for (;;) {
    check(Date.now() < readBy, `the product page was not read and embedded within 180 s; it said: ${seen}`);
    check(page.url() === productPage, `the product page moved to ${page.url()}`);
    try {
      await page.waitForLoadState("load");
      const waiting = await page.$("#scrape-pending");
      seen = await page.textContent("main");
      if (!waiting && seen.includes("press it into clean skin")) break;
      if ((await page.textContent("#scrape-state")).includes("could not be read")) {
        throw new Error(`the product page could not be read: ${seen}`);
      }
    } catch (error) {
      // The page refreshed itself while being read: look again.
      if (String(error.message).startsWith("the product page could not be read")) throw error;
    }
    await sleep(250);
  }
  await shot(page, "product");

  await page.goto(`${base}/console/knowledge`);
  await page.fill("#question", "How do I use the night repair cream?");
  await Promise.all([
    page.waitForURL(`${base}/console/knowledge/ask`),
    page.click(`form[action="/console/knowledge/ask"] button[type=submit]`),
  ]);
  const answer = await page.textContent("#test-answer blockquote");
  check(answer.includes("pea-sized"), `the test answer: ${answer}`);
  check((await page.textContent("#citations")).includes("Night Repair Cream"), "the answer cites the product");
  check((await page.textContent("#guardrail")).trim() === "passed", "the guardrails passed the answer");
  await shot(page, "answer");

  // The inbox, open while the customer asks for a person: the hand-over arrives without a reload.
  const streaming = page.waitForResponse((response) => response.url().endsWith("/console/inbox/events"));
  await page.goto(`${base}/console/inbox`);
  check((await streaming).status() === 200, "the inbox listens to its event stream");
  await page.evaluate(() => { window.notReloaded = true; });
  await customerWrites("Hi, I want to talk to a real person please", "wamid.STORY-PERSON");
  await page.waitForSelector("#waiting", { timeout: 90_000 });
  check(await page.evaluate(() => window.notReloaded === true), "the inbox reloaded instead of updating live");
  check(/^\(\d+\) /.test(await page.title()), `the title counts what is new: ${await page.title()}`);
  await shot(page, "handover");

  // Reply and resolve.
  await Promise.all([
    page.waitForURL(/\/console\/inbox\/[0-9a-f-]{36}$/),
    page.click("tr.waiting a"),
  ]);
  await page.fill("#reply-text", replyText);
  await Promise.all([page.waitForURL(/done=replied/), page.click("#reply-text ~ button[type=submit]")]);
  check((await page.textContent("#thread-live")).includes(replyText), "the thread shows the reply");
  await shot(page, "replied");
  await Promise.all([
    page.waitForURL(/done=/),
    page.click(`form[action$="/resolve"] button[type=submit]`),
  ]);
  const resolved = await page.textContent(".flash.ok");
  check(resolved.includes("Resolved"), `after resolving, the page says: ${resolved}`);
  await shot(page, "resolved");

  // What the follow-up brought back.
  await page.goto(`${base}/console/analytics`);
  const analytics = await page.textContent("main");
  check(analytics.includes("1249.50 TRY"), `the attributed order's total on the analytics page: ${analytics}`);
  await shot(page, "analytics");

  if (problems.length > 0) fail(problems.join("\n"));
  console.log(JSON.stringify({ signed_in: true, screenshots: shots }));
} catch (error) {
  fail(`${error.stack || String(error)}\n${problems.join("\n")}`);
} finally {
  await close();
}
