// Gather's pages in a real browser (Debian's chromium through playwright-core), against
// a server started by tests/platform/pages.rs with a published, reviewed skill, a shop on
// fake upstreams and an SMTP sink (tests/browser.mjs has the shared helpers).
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE, DESK, SKILL, REVIEWER, open, newContext, shot, mailTo, seriousViolations, makeUser, problems } from "./browser.mjs";

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
  await review.getByRole("link", { name: "by reviewer" }).waitFor();
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

test("a visitor meets the agents: the directory by reputation, a profile, its proofs", async () => {
  const page = await open();
  await page.goto(`${BASE}/agents`);
  const cards = page.getByRole("listitem").filter({ has: page.getByRole("heading", { level: 2 }) });
  await cards.first().waitFor();
  // Best reputation first: both agents are verified; the reviewer's verified, challenged
  // review (16) outweighs one fresh skill's rank.
  const names = await cards.getByRole("heading", { level: 2 }).allInnerTexts();
  assert.deepEqual(names.slice().sort(), ["publisher", "reviewer"]);
  await shot(page, "agents");
  await page.getByLabel("Name").fill("review");
  await page.getByRole("button", { name: "Show" }).click();
  await page.getByText("1 agent.", { exact: true }).waitFor();
  await page.getByRole("link", { name: "reviewer" }).click();
  await page.getByRole("heading", { level: 1, name: "reviewer" }).waitFor();
  await page.getByRole("heading", { name: "Reviews written (1)" }).waitFor();
  const rows = await page.getByRole("table", { name: "The parts of the reputation" }).locator("tbody tr").allInnerTexts();
  assert.deepEqual(rows.map((r) => r.split("\t").slice(0, 2).join(" ")), ["Identity 10.0", "Publishing 0.0", "Reviewing 6.0", "Adoption 0.0"]);
  await page.getByRole("button", { name: "Verify in this browser" }).click();
  await page.getByText("The proof checks out").waitFor();
  await shot(page, "agent-profile");
  // From the reviewed skill to its publisher.
  await page.getByRole("link", { name: SKILL }).click();
  await page.getByRole("link", { name: /published by/ }).click();
  await page.getByRole("heading", { level: 1, name: "publisher" }).waitFor();
  await page.getByRole("table", { name: "Skills this agent published" }).getByRole("link", { name: /meeting/i }).waitFor();
  await page.context().close();
});

/** The link in `mail` to the account page `page`, on this server. */
function linkIn(mail, page) {
  const m = mail.html.match(new RegExp(`${BASE}/account/${page}/[A-Za-z0-9._-]+`));
  assert.ok(m, `no /account/${page} link in: ${mail.html}`);
  return m[0];
}

test("a human signs up, verifies the e-mail by its link, and signs in every way there is", async () => {
  const page = await open(undefined, { bypassCSP: true });
  const signOut = async () => {
    await page.goto(`${BASE}/account`);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
  };
  await page.goto(`${BASE}/account`);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await shot(page, "account-sign-in");
  await page.getByRole("link", { name: "Create an account" }).click();
  await page.getByLabel("Name").fill("Ann");
  await page.getByLabel("E-mail").fill("ann@example.com");
  await page.getByLabel("Password", { exact: true }).fill("short");
  await page.getByLabel("The password again").fill("short");
  await page.getByRole("button", { name: "Create the account" }).click();
  // The server's own words about the field.
  await page.getByRole("alert").filter({ hasText: "password" }).waitFor();
  await shot(page, "account-sign-up-refused");
  await page.getByLabel("Password", { exact: true }).fill("a-long-password");
  await page.getByLabel("The password again").fill("a-long-password");
  await page.getByRole("button", { name: "Create the account" }).click();
  await page.getByText("We sent a link to").waitFor();
  await page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: "Ann" }).waitFor();

  await page.goto(linkIn(await mailTo("ann@example.com"), "confirm-verification"));
  await page.getByText("Your e-mail address is verified.").waitFor();
  await shot(page, "account-verified");
  await page.goto(`${BASE}/account`);
  await page.getByText("verified", { exact: true }).waitFor();
  await shot(page, "account-profile");
  assert.deepEqual(await seriousViolations(page), [], "the account page");

  // Password: a wrong one is refused in the server's words; the right one goes back to
  // the page that sent the visitor.
  await signOut();
  await page.goto(`${BASE}/account?next=${encodeURIComponent("/skills/leaderboard")}`);
  await page.getByRole("button", { name: "Password" }).click();
  await page.getByLabel("E-mail").fill("ann@example.com");
  await page.getByLabel("Password", { exact: true }).fill("not-the-password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("alert").filter({ hasText: "Failed to authenticate" }).waitFor();
  await page.getByLabel("Password", { exact: true }).fill("a-long-password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL(`${BASE}/skills/leaderboard`);
  await page.getByRole("link", { name: "Ann" }).waitFor();

  // A one-time code by e-mail.
  await signOut();
  await page.getByRole("button", { name: "Code by e-mail" }).click();
  await page.getByLabel("E-mail").fill("ann@example.com");
  await page.getByRole("button", { name: "E-mail me a code" }).click();
  const code = (await mailTo("ann@example.com")).text.split(/\s+/).find((w) => /^\d{8}$/.test(w));
  await page.getByLabel("Code from the e-mail").fill(code);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("heading", { name: "Your account" }).waitFor();

  // A new password by the reset link.
  await signOut();
  await page.getByRole("link", { name: "Forgot the password?" }).click();
  await page.getByLabel("E-mail").fill("ann@example.com");
  await page.getByRole("button", { name: "E-mail me a link" }).click();
  await page.getByText("a link to choose a new password is on its way").waitFor();
  await page.goto(linkIn(await mailTo("ann@example.com"), "confirm-password-reset"));
  await page.getByLabel("New password", { exact: true }).fill("another-long-password");
  await page.getByLabel("The new password again").fill("another-long-password");
  await page.getByRole("button", { name: "Confirm" }).click();
  await page.getByText("Your password is changed").waitFor();
  await shot(page, "account-password-reset");
  await page.goto(`${BASE}/account`);
  await page.getByRole("button", { name: "Password" }).click();
  await page.getByLabel("E-mail").fill("ann@example.com");
  await page.getByLabel("Password", { exact: true }).fill("another-long-password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("heading", { name: "Your account" }).waitFor();

  // An OpenID Connect provider: away and back, a new account for its user.
  await signOut();
  await page.getByRole("button", { name: "Test IdP" }).click();
  await page.getByRole("heading", { name: "Your account" }).waitFor();
  await page.getByText("olga@example.com").waitFor();
  await page.context().close();
});

test("a human orders a t-shirt with a design of their own, pays in BCH and sees it go to print", async () => {
  // The context may inject axe for the signed-in pages' checks.
  const page = await open(undefined, { bypassCSP: true });
  // An account made over the API; signing in happens on the page.
  await makeUser("buyer@example.com", "buyer-password", "Bea");

  await page.goto(`${BASE}/shop`);
  await page.getByRole("heading", { name: "T-Shirt" }).waitFor();
  await shot(page, "shop-menu");
  await page.getByRole("link", { name: "Order a T-Shirt" }).click();
  // Orders belong to someone: sign in first, then back to the order form.
  await page.getByRole("heading", { name: "Sign in to order" }).waitFor();
  await page.getByRole("link", { name: "sign in or create an account" }).click();
  await page.getByLabel("E-mail").fill("buyer@example.com");
  await page.getByLabel("Password", { exact: true }).fill("buyer-password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL(`${BASE}/shop/order/t-shirt`);

  // The design: uploaded here, previewed, picked.
  const png = Buffer.from(await (await fetch(`${DESK}/design.png`)).arrayBuffer());
  await page.getByLabel("Upload a PNG, JPEG or WebP image").setInputFiles({ name: "art.png", mimeType: "image/png", buffer: png });
  await page.getByRole("radio", { name: /art\.png/ }).waitFor();
  assert.ok(await page.getByRole("radio", { name: /art\.png/ }).isChecked());
  await page.getByRole("img", { name: "Preview of the design you chose" }).waitFor();
  await page.getByLabel("Size").selectOption("M");
  await page.getByLabel("Color").selectOption("white");
  const ship = { "First name": "Bea", "Last name": "Buyer", "Address": "12 St James's Square", "City": "London", "Postal code": "SW1Y 4JH" };
  for (const [label, value] of Object.entries(ship)) await page.getByLabel(label, { exact: true }).fill(value);
  await page.getByLabel("Country (two letters, like US or DE)").fill("United Kingdom");
  await page.getByRole("button", { name: "Place the order" }).click();
  await page.getByText("Two letters, like US or DE.").waitFor();
  await shot(page, "shop-order-form");
  assert.deepEqual(await seriousViolations(page), [], "the order form");
  await page.getByLabel("Country (two letters, like US or DE)").fill("gb");
  await page.getByRole("button", { name: "Place the order" }).click();

  // The quote: the exact amount, the address as text and as a QR code.
  await page.getByRole("heading", { name: /^Order / }).waitFor();
  assert.match(page.url(), /\/shop\/orders\/[a-z0-9]{15}$/);
  await page.getByText("Waiting for payment", { exact: true }).first().waitFor();
  await page.getByRole("img", { name: "QR code of the payment address and amount" }).locator("svg").waitFor();
  await page.getByText("bitcoincash:qshop0address", { exact: true }).waitFor();
  await shot(page, "shop-order-pay");
  assert.deepEqual(await seriousViolations(page), [], "the order page");
  const sats = Number((await page.getByText(/satoshis\)/).innerText()).replace(/[^0-9]/g, ""));
  assert.ok(sats > 0);

  // A wrong id is refused in the page's words, an unpaid one in the server's.
  await page.getByLabel("Transaction id, once you paid").fill("not-a-transaction");
  await page.getByRole("button", { name: "I paid" }).click();
  await page.getByText("A transaction id is 64 hexadecimal characters.").waitFor();
  await page.getByLabel("Transaction id, once you paid").fill("0".repeat(64));
  await page.getByRole("button", { name: "I paid" }).click();
  await page.getByRole("alert").filter({ hasText: /transaction/i }).waitFor();
  const { tx_id } = await (await fetch(`${DESK}/pay/${sats}`, { method: "POST" })).json();
  await page.getByLabel("Transaction id, once you paid").fill(tx_id);
  await page.getByRole("button", { name: "I paid" }).click();
  await page.locator("dd code", { hasText: tx_id }).waitFor();
  // The outbox hands it to the printer; the page looks again by itself.
  await page.getByLabel("Status").filter({ hasText: "With the printer" }).waitFor({ timeout: 30000 });
  await shot(page, "shop-order-paid");
  await page.getByLabel("What you think (optional)").fill("Quick and clear.");
  await page.getByRole("button", { name: "Send" }).click();
  await page.getByText("Thank you").waitFor();

  await page.goto(`${BASE}/shop/orders`);
  await page.getByRole("table", { name: "Your orders" }).getByText("With the printer").waitFor();
  await shot(page, "shop-orders");
  await page.context().close();
});

const PAGES = [
  ["landing", "/"],
  ["skills-home", "/skills"],
  ["skills-search", "/skills/search?q=meeting"],
  ["skill", `/skills/s/${SKILL}`],
  ["skills-leaderboard", "/skills/leaderboard"],
  ["account", "/account"],
  ["account-sign-up", "/account/sign-up"],
  ["shop", "/shop"],
  ["agents", "/agents"],
  ["agent-profile", `/agents/${REVIEWER}`],
  ["chat-signed-out", "/app"],
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
    const context = await newContext({ bypassCSP: true, colorScheme: scheme });
    const page = await context.newPage();
    for (const [name, path] of PAGES) {
      await page.goto(`${BASE}${path}`);
      await page.getByRole("heading", { level: 1 }).waitFor();
      await page.waitForLoadState("networkidle");
      assert.deepEqual(await seriousViolations(page), [], `${name} (${scheme})`);
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
