// The dashboard in a real browser (Debian's chromium through playwright-core), against
// a server started by tests/admin_ui.rs: GATHER_URL, SU_EMAIL, SU_PASSWORD, CHROMIUM and
// OUTPUT (where screenshots go) come from the environment.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const BASE = process.env.GATHER_URL;
const OUT = process.env.OUTPUT ?? "test-output";
mkdirSync(OUT, { recursive: true });

let browser;
let page;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
  page.on("dialog", (d) => d.accept());
});

after(async () => {
  await browser?.close();
});

const shot = (name) => page.screenshot({ path: `${OUT}/${name}.png`, fullPage: true });

async function guestList(collection) {
  const r = await fetch(`${BASE}/api/collections/${collection}/records`);
  return { status: r.status, body: await r.json() };
}

test("an operator logs in, builds a collection, works with records and rules", async () => {
  await page.goto(`${BASE}/_/`);
  await page.getByRole("heading", { name: process.env.APP_NAME }).waitFor();
  await shot("login");
  await page.getByLabel("E-mail").fill(process.env.SU_EMAIL);
  await page.getByLabel("Password").fill("wrong-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").waitFor();
  await page.getByLabel("Password").fill(process.env.SU_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "+ New collection" }).waitFor();

  // A collection with several field types.
  await page.getByRole("button", { name: "+ New collection" }).click();
  const drawer = page.getByRole("form", { name: "New collection" });
  await drawer.getByLabel("Name", { exact: true }).fill("books");
  // A new collection starts with created/updated, as in PocketBase's dashboard.
  const starting = await drawer.getByLabel("Field name").evaluateAll((els) => els.map((e) => e.value));
  assert.deepEqual(starting, ["created", "updated"]);
  const fields = [
    ["text", "title"],
    ["number", "pages"],
    ["bool", "published"],
    ["select", "genre"],
    ["json", "meta"],
    ["relation", "author"],
    ["file", "cover"],
  ];
  for (const [type, name] of fields) {
    await drawer.getByLabel("New field type").selectOption(type);
    await drawer.getByRole("button", { name: "+ Add field" }).click();
    await drawer.getByLabel("Field name").last().fill(name);
  }
  await drawer.getByLabel("Values").fill("fiction, science");
  await drawer.getByLabel("Values").dispatchEvent("change");
  await drawer.getByLabel("Collection").selectOption({ label: "users" });
  await drawer.getByRole("tab", { name: "API rules" }).click();
  for (const rule of ["List/Search", "View", "Create"]) {
    await drawer.locator(".field", { hasText: `${rule} rule` }).getByRole("checkbox").uncheck();
  }
  await shot("collection-editor");
  await drawer.getByRole("button", { name: "Create" }).click();
  await page.getByRole("heading", { name: "books" }).waitFor();

  // Records: create two, edit one.
  for (const [title, pages] of [["Dune", "412"], ["Cosmos", "365"]]) {
    await page.getByRole("button", { name: "+ New record" }).click();
    const form = page.getByRole("form", { name: "New record" });
    await form.getByLabel(/^title/).fill(title);
    await form.getByLabel(/^pages/).fill(pages);
    await form.getByLabel(/^published/).check();
    await form.getByLabel(/^genre/).selectOption(title === "Dune" ? "fiction" : "science");
    await form.getByLabel(/^meta/).fill('{"shelf": 3}');
    await form.getByRole("button", { name: "Save" }).click();
    await page.getByRole("cell", { name: title, exact: true }).waitFor();
  }
  await shot("records");
  await page.getByRole("cell", { name: "Dune", exact: true }).click();
  const edit = page.getByRole("form", { name: /^Edit record/ });
  await edit.getByLabel(/^pages/).fill("500");
  await edit.getByRole("button", { name: "Save" }).click();
  await page.getByRole("cell", { name: "500", exact: true }).waitFor();

  // Bad JSON is caught before it is sent; a bad value gets the server's message.
  await page.getByRole("button", { name: "+ New record" }).click();
  const bad = page.getByRole("form", { name: "New record" });
  await bad.getByLabel(/^meta/).fill("{not json");
  await bad.getByRole("button", { name: "Save" }).click();
  await bad.getByText("This is not valid JSON.").waitFor();
  await bad.getByRole("button", { name: "Cancel" }).click();

  // The filter bar speaks the API's filter language.
  await page.getByLabel("Filter").fill("title ~ 'Cos'");
  await page.getByLabel("Filter").press("Enter");
  await page.getByText("1 record", { exact: true }).waitFor();
  await page.getByLabel("Filter").fill("title ~");
  await page.getByLabel("Filter").press("Enter");
  await page.getByRole("alert").waitFor();
  await shot("filter-error");
  await page.getByRole("button", { name: "Clear" }).click();
  await page.getByText("2 records", { exact: true }).waitFor();

  // Bulk delete.
  const cosmos = await page.getByRole("row", { name: /Cosmos/ }).getByRole("checkbox");
  await cosmos.check();
  await page.getByRole("button", { name: "Delete selected" }).click();
  await page.getByText("1 record", { exact: true }).waitFor();

  // An API rule changed in the dashboard changes what the REST API answers.
  let guest = await guestList("books");
  assert.equal(guest.status, 200);
  assert.equal(guest.body.totalItems, 1);
  await page.getByRole("button", { name: "⚙ Edit collection" }).click();
  const editor = page.getByRole("form", { name: "Edit collection books" });
  await editor.getByRole("tab", { name: "API rules" }).click();
  await editor.getByLabel("List/Search rule").fill("published = true && pages >");
  await editor.getByText(/invalid|expected|unexpected/i).first().waitFor();
  await editor.getByLabel("List/Search rule").fill("pages > 1000");
  await editor.getByText("✓ Valid").first().waitFor();
  await editor.getByRole("button", { name: "Save changes" }).click();
  await editor.waitFor({ state: "detached" });
  guest = await guestList("books");
  assert.equal(guest.status, 200);
  assert.equal(guest.body.totalItems, 0, "the new list rule hides the book");

  // Settings.
  await page.getByRole("link", { name: /Settings/ }).click();
  await page.getByLabel("Name", { exact: true }).fill("Acme backend");
  await page.getByLabel(/framework's routes .* as tools/).check();
  await page.getByRole("button", { name: "Save settings" }).click();
  await page.getByRole("status").waitFor();
  await shot("settings");
  const s = await (await fetch(`${BASE}/api/collections/_superusers/auth-with-password`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ identity: process.env.SU_EMAIL, password: process.env.SU_PASSWORD }),
  })).json();
  const settings = await (await fetch(`${BASE}/api/settings`, { headers: { Authorization: s.token } })).json();
  assert.equal(settings.meta.appName, "Acme backend");
  assert.equal(settings.mcp.coreTools, true);

  // A phone-width screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${BASE}/_/#/collections/books`);
  await page.getByRole("heading", { name: "books" }).waitFor();
  await shot("records-phone");
});

test("the logs screen shows the requests", async () => {
  await page.setViewportSize({ width: 1280, height: 820 });
  await page.goto(`${BASE}/_/#/logs`);
  await page.getByRole("heading", { name: "Logs", level: 1 }).waitFor();
  // Entries are written in batches: refresh until the dashboard's own requests show.
  for (let i = 0; i < 30; i++) {
    if (await page.getByRole("cell", { name: /\/api\/collections/ }).count()) break;
    await page.waitForTimeout(200);
    await page.getByRole("button", { name: "Refresh" }).click();
  }
  await page.getByRole("img", { name: "Requests per hour" }).waitFor();
  await page.getByLabel("Filter logs").fill("data.status >= 400");
  await page.getByLabel("Filter logs").press("Enter");
  await page.getByRole("cell", { name: /^4\d\d$/ }).first().waitFor();
  await shot("logs");
  await page.getByRole("cell", { name: /^4\d\d$/ }).first().click();
  await page.getByRole("dialog", { name: "Log entry" }).waitFor();
});

test("an auth collection's login options are edited in the collection editor", async () => {
  await page.goto(`${BASE}/_/#/collections/users`);
  await page.getByRole("button", { name: "⚙ Edit collection" }).click();
  const editor = page.getByRole("form", { name: "Edit collection users" });
  await editor.getByRole("tab", { name: "Login options" }).click();
  await editor.getByLabel("Log in with a code sent by e-mail").check();
  await editor.getByLabel("Digits").fill("6");
  await editor.getByLabel("Log in with an OAuth2 / OpenID Connect provider").check();
  await editor.getByRole("button", { name: "+ Add provider" }).click();
  await editor.getByLabel("Client id").fill("dashboard-client");
  await editor.getByLabel("Client secret").fill("dashboard-secret");
  await shot("auth-options");
  await editor.getByRole("button", { name: "Save changes" }).click();
  await editor.waitFor({ state: "detached" });
  const s = await (await fetch(`${BASE}/api/collections/_superusers/auth-with-password`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ identity: process.env.SU_EMAIL, password: process.env.SU_PASSWORD }),
  })).json();
  const users = await (await fetch(`${BASE}/api/collections/users`, { headers: { Authorization: s.token } })).json();
  assert.equal(users.otp.enabled, true);
  assert.equal(users.otp.length, 6);
  assert.equal(users.oauth2.providers[0].name, "github");
  assert.equal(users.oauth2.providers[0].clientId, "dashboard-client");
  assert.equal(users.oauth2.providers[0].clientSecret, undefined, "secrets are never returned");
});

test("files upload from the record form, and records made elsewhere appear live", async () => {
  await page.goto(`${BASE}/_/#/collections/books`);
  await page.getByRole("heading", { name: "books" }).waitFor();
  await page.getByRole("button", { name: "+ New record" }).click();
  const form = page.getByRole("form", { name: "New record" });
  await form.getByLabel(/^title/).fill("Foundation");
  // A 1x1 PNG.
  const png = Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
    "base64",
  );
  await form.getByLabel(/^cover/).setInputFiles({ name: "cover.png", mimeType: "image/png", buffer: png });
  await form.getByRole("button", { name: "Save" }).click();
  await page.getByRole("cell", { name: "Foundation", exact: true }).waitFor();
  await page.getByRole("cell", { name: "Foundation", exact: true }).click();
  const edit = page.getByRole("form", { name: /^Edit record/ });
  const thumb = edit.getByRole("img", { name: /^cover_.*\.png$/ });
  await thumb.waitFor();
  // The thumbnail is made on first request: wait for the image to finish, then check it.
  const loaded = await thumb.evaluate(
    (img) =>
      new Promise((done) => {
        if (img.complete) return done(img.naturalWidth > 0);
        img.addEventListener("load", () => done(img.naturalWidth > 0));
        img.addEventListener("error", () => done(false));
      }),
  );
  assert.ok(loaded, "the thumbnail loads");
  await shot("record-editor");
  await edit.getByRole("button", { name: "Cancel" }).click();

  // A record created through the API shows up without a reload (realtime).
  const s = await (await fetch(`${BASE}/api/collections/_superusers/auth-with-password`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ identity: process.env.SU_EMAIL, password: process.env.SU_PASSWORD }),
  })).json();
  const r = await fetch(`${BASE}/api/collections/books/records`, {
    method: "POST",
    headers: { "content-type": "application/json", Authorization: s.token },
    body: JSON.stringify({ title: "Made elsewhere", pages: 1 }),
  });
  assert.equal(r.status, 200);
  await page.getByRole("cell", { name: "Made elsewhere", exact: true }).waitFor({ timeout: 10000 });
});

test("a password reset link from an e-mail opens a page that sets the new password", async () => {
  const fresh = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await fresh.goto(`${BASE}/_/#/auth/confirm-password-reset/${process.env.RESET_TOKEN}`);
  await fresh.getByRole("heading", { name: "Choose a new password" }).waitFor();
  await fresh.getByLabel("New password", { exact: true }).fill("brand-new-password");
  await fresh.getByLabel("Repeat it").fill("brand-new-password");
  await fresh.getByRole("button", { name: "Confirm" }).click();
  await fresh.getByRole("status").waitFor();
  await fresh.screenshot({ path: `${OUT}/confirm-password-reset.png` });
  const login = await fetch(`${BASE}/api/collections/users/auth-with-password`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ identity: process.env.RESET_EMAIL, password: "brand-new-password" }),
  });
  assert.equal(login.status, 200);
  // The link works once.
  await fresh.reload();
  await fresh.getByLabel("New password", { exact: true }).fill("another-password-1");
  await fresh.getByLabel("Repeat it").fill("another-password-1");
  await fresh.getByRole("button", { name: "Confirm" }).click();
  await fresh.getByRole("alert").waitFor();
  await fresh.close();
});
