// Gather's pages in a real browser (Debian's chromium through playwright-core), against
// a server started by tests/platform/pages.rs with a published, reviewed skill:
// GATHER_URL, SKILL_NAME, CHROMIUM and OUTPUT (where screenshots go) come from it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const BASE = process.env.GATHER_URL;
const SKILL = process.env.SKILL_NAME;
const OUT = process.env.OUTPUT ?? "test-output";
mkdirSync(OUT, { recursive: true });
const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

let browser;
/** Console errors and uncaught exceptions of every page, checked at the end. */
const problems = [];

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

async function open(viewport = { width: 1280, height: 860 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on("console", (m) => {
    // The browser itself logs a 404 it was asked to fetch: expected only where the test
    // asks for what is not there.
    const expected = page.url().includes("no-such-skill") && m.text().includes("status of 404");
    if (m.type() === "error" && !expected) problems.push(`${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`${page.url()}: ${e.message}`));
  return page;
}

const shot = (page, name) => page.screenshot({ path: `${OUT}/${name}.png`, fullPage: true });

test("the landing page says what Gather is and leads to the skills", async () => {
  const page = await open();
  await page.goto(`${BASE}/`);
  await page.getByRole("heading", { level: 1 }).waitFor();
  assert.equal(await page.title(), "Gather");
  await page.locator(".figures dd").first().filter({ hasText: /\d/ }).waitFor();
  await shot(page, "landing");
  await page.getByRole("link", { name: "Browse skills" }).click();
  await page.getByRole("heading", { name: "Skills for AI agents" }).waitFor();
  await page.context().close();
});

test("a visitor finds a skill, reads it safely and verifies a review's proof in the browser", async () => {
  const page = await open();
  await page.goto(`${BASE}/skills`);
  await page.getByRole("table", { name: "Top reviewed skills" }).getByRole("link", { name: /meeting/i }).waitFor();
  await shot(page, "skills-home");

  // Search from the form: the URL carries the query, the table the match.
  await page.getByRole("link", { name: "Search", exact: true }).click();
  await page.getByLabel("Words").fill("transcript decisions");
  await page.getByLabel("Category").selectOption("content");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByText("1 skill matches.").waitFor();
  assert.match(page.url(), /\/skills\/search\?q=transcript\+decisions&category=content$/);
  await shot(page, "skills-search");
  await page.getByLabel("Words").fill("nothing-like-this-exists");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByText("0 skills match.").waitFor();
  await page.goBack();
  await page.getByText("1 skill matches.").waitFor();

  // The skill's page: SKILL.md rendered, its raw HTML shown as text and never run.
  await page.getByRole("table", { name: "Matching skills" }).getByRole("link", { name: /meeting/i }).click();
  await page.getByRole("heading", { level: 1, name: /meeting/i }).waitFor();
  await page.getByRole("heading", { name: "Decisions" }).waitFor();
  const prose = page.locator(".prose");
  assert.match(await prose.innerText(), /<script>window\.pwned = 1<\/script>/);
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  assert.equal(await prose.locator("script, iframe, [onerror]").count(), 0);
  assert.equal(await prose.locator('a[href^="javascript"]').count(), 0);
  assert.match(await page.locator("pre code").first().innerText(), new RegExp(`/api/skills/${encodeURIComponent(SKILL)}/SKILL.md`));
  await shot(page, "skill");

  // The review's proof, checked here with WebCrypto.
  const review = page.locator("article.review").first();
  await review.getByText("Signed by the reviewer, verified").waitFor();
  await review.getByRole("button", { name: "Verify in this browser" }).click();
  await review.getByText("The proof checks out").waitFor();
  assert.equal(await review.locator(".checks li").count(), 3);
  await shot(page, "skill-proof-verified");

  // A deep link loads the same page; an unknown skill says so in the server's words.
  await page.goto(`${BASE}/skills/s/${SKILL}`);
  await page.getByRole("heading", { level: 1, name: /meeting/i }).waitFor();
  await page.goto(`${BASE}/skills/s/no-such-skill`);
  await page.getByRole("alert").waitFor();
  assert.match(await page.getByRole("alert").innerText(), /skill/i);

  await page.goto(`${BASE}/skills/leaderboard`);
  await page.getByRole("table", { name: "Skills by rank score" }).getByRole("link", { name: SKILL }).waitFor();
  await shot(page, "skills-leaderboard");
  await page.context().close();
});

const PAGES = [
  ["landing", "/"],
  ["skills-home", "/skills"],
  ["skills-search", "/skills/search?q=meeting"],
  ["skill", `/skills/s/${SKILL}`],
  ["skills-leaderboard", "/skills/leaderboard"],
];

test("every page fits a 360 px phone", async () => {
  const page = await open({ width: 360, height: 740 });
  for (const [name, path] of PAGES) {
    await page.goto(`${BASE}${path}`);
    await page.getByRole("heading", { level: 1 }).waitFor();
    await page.waitForLoadState("networkidle");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${path} is ${overflow}px wider than the screen`);
    await shot(page, `phone-${name}`);
  }
  await page.context().close();
});

test("every page passes axe-core's WCAG 2 A/AA checks with nothing serious", async () => {
  for (const scheme of ["light", "dark"]) {
    // axe is injected as a script of the test's own, which the pages' policy would refuse.
    const context = await browser.newContext({ bypassCSP: true, colorScheme: scheme });
    const page = await context.newPage();
    for (const [name, path] of PAGES) {
      await page.goto(`${BASE}${path}`);
      await page.getByRole("heading", { level: 1 }).waitFor();
      await page.waitForLoadState("networkidle");
      await page.addScriptTag({ path: AXE });
      const result = await page.evaluate(() => window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21aa"] }));
      const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
      assert.deepEqual(
        serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
        [],
        `${name} (${scheme})`,
      );
    }
    await context.close();
  }
});

test("the keyboard reaches every control, with a visible focus", async () => {
  const page = await open();
  await page.goto(`${BASE}/skills`);
  await page.getByRole("heading", { level: 1 }).waitFor();
  await page.keyboard.press("Tab");
  const skip = await page.evaluate(() => document.activeElement?.textContent);
  assert.equal(skip, "Skip to content");
  await page.keyboard.press("Enter");
  await page.keyboard.press("Tab");
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, "none");
  await page.context().close();
});

test("no page logged an error", () => {
  assert.deepEqual(problems, []);
});
