// What the browser tests share: reading their environment, failing with the reason, and a
// headless Debian chromium driven by playwright-core (from BROWSER_MODULES; CHROMIUM names the
// executable, /usr/bin/chromium by default) whose page records script errors and refused loads
// (a CSP violation, a missing file) so a run can fail on them.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";

const script = path.basename(process.argv[1] ?? "browser test");

export function fail(message) {
  console.error(`${script}: ${message}`);
  process.exit(1);
}

export function required(name) {
  const value = process.env[name];
  if (!value) fail(`${name} is not set`);
  return value;
}

/// A fresh browser profile with one page; `problems` collects what went wrong on the pages.
/// `close()` ends the browser and removes the profile.
export async function launch({ viewport, defaultTimeout }) {
  const modules = path.resolve(required("BROWSER_MODULES"));
  const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
  if (!existsSync(executablePath)) fail(`${executablePath} is missing: run make tools`);
  let chromium;
  try {
    ({ chromium } = createRequire(path.join(modules, "resolve-from-here.js"))("playwright-core"));
  } catch {
    fail(`playwright-core is missing in ${modules}: run make tools`);
  }
  const userDataDir = mkdtempSync(path.join(tmpdir(), "recete-browser-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    viewport,
    timeout: 60_000,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(defaultTimeout);
  const problems = [];
  page.on("pageerror", (error) => problems.push(`script error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error on ${page.url()}: ${message.text()}`);
  });
  const close = async () => {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  };
  return { context, page, problems, close };
}

/// SCREENSHOT_DIR, made if missing.
export function screenshotDir() {
  const shots = required("SCREENSHOT_DIR");
  mkdirSync(shots, { recursive: true });
  return shots;
}
