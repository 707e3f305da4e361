// What the browser tests share: the server and the test's helpers from the environment
// (set by tests/platform/pages.rs: GATHER_URL, DESK, SKILL_NAME, REVIEWER_ID,
// AGENT_ID, AGENT_TOKEN, CHROMIUM, OUTPUT), Debian's chromium through playwright-core,
// screenshots, and a record of every console error and uncaught exception.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

export const BASE = process.env.GATHER_URL;
export const DESK = process.env.DESK;
export const SKILL = process.env.SKILL_NAME;
export const REVIEWER = process.env.REVIEWER_ID;
const OUT = process.env.OUTPUT ?? "test-output";
mkdirSync(OUT, { recursive: true });
export const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

let browser;
/** Console errors and uncaught exceptions of every page, checked at the end. */
export const problems = [];

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"],
  });
});

after(async () => {
  await browser?.close();
});

/** A new page in a context of its own (its own storage: another person). */
export async function open(viewport = { width: 1280, height: 860 }, options = {}) {
  const context = await browser.newContext({ viewport, ...options });
  const page = await context.newPage();
  page.on("console", (m) => {
    // Chromium itself logs every 4xx answer a page fetched; the tests provoke those on
    // purpose (a wrong password, an unknown skill) and check the page shows them.
    const refused = /Failed to load resource: the server responded with a status of 4\d\d/.test(m.text());
    if (m.type() === "error" && !refused) problems.push(`${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`${page.url()}: ${e.message}`));
  return page;
}

export const newContext = (options) => browser.newContext(options);

export const shot = (page, name) => page.screenshot({ path: `${OUT}/${name}.png`, fullPage: true });

/** The next e-mail to `to`, from the test's SMTP sink. */
export async function mailTo(to) {
  const r = await fetch(`${DESK}/mail/${encodeURIComponent(to)}`);
  assert.equal(r.status, 200, `no e-mail to ${to}`);
  return r.json();
}

/** axe-core's serious and critical WCAG 2 A/AA findings on the page as it is now (the
 * page's context must bypass its CSP: axe is injected as a script of the test's own). */
export async function seriousViolations(page) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(() => window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21aa"] }));
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

/** Signs `email` in on the account page, coming back to `next`. */
export async function signIn(page, email, password, next) {
  await page.goto(`${BASE}/account?next=${encodeURIComponent(next)}`);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  // Signed in once the SDK stored the session; then the page goes on to `next`.
  await page.waitForFunction(() => localStorage.getItem("pocketbase_auth"));
  await page.waitForURL((u) => u.pathname.startsWith(next) && !u.search.includes("next="));
}

/** A `users` account made over the API. */
export async function makeUser(email, password, name) {
  const r = await fetch(`${BASE}/api/collections/users/records`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password, passwordConfirm: password, name }),
  });
  const body = await r.text();
  assert.equal(r.status, 200, body);
  return JSON.parse(body);
}
