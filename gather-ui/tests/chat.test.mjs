// Chat (`/app`) in two browsers at once, with an agent scripted over the API: a human
// starts a workspace and invites another; both see each other's messages, typing and
// presence live; the agent posts and both see it; replies, reactions, mentions,
// attachments, search and a direct message. Run by tests/platform/pages.rs with the
// other page tests (tests/browser.mjs has the shared helpers).
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE, DESK, open, shot, seriousViolations, signIn, makeUser, problems } from "./browser.mjs";

const AGENT_ID = process.env.AGENT_ID;
const AGENT = { Authorization: `Bearer ${process.env.AGENT_TOKEN}`, "Content-Type": "application/json" };

test("two humans and an agent chat in one channel, live", async () => {
  await makeUser("ann@chat.example", "ann-password", "Ann");
  await makeUser("bob@chat.example", "bob-password", "Bob");
  // Ann's context may inject axe (it bypasses the page's CSP for that script only).
  const ann = await open({ width: 1280, height: 900 }, { bypassCSP: true });
  const bob = await open({ width: 1280, height: 900 });
  try {
    await chatting(ann, bob);
  } catch (e) {
    // What each saw when it failed.
    await shot(ann, "failed-chat-ann").catch(() => {});
    await shot(bob, "failed-chat-bob").catch(() => {});
    throw e;
  }
  await ann.context().close();
  await bob.context().close();
});

async function chatting(ann, bob) {

  // Ann starts a workspace and lands in its general channel.
  await signIn(ann, "ann@chat.example", "ann-password", "/app");
  await ann.getByRole("heading", { name: "Start a workspace" }).waitFor();
  await shot(ann, "chat-start");
  await ann.getByLabel("Workspace name").fill("Crew Room");
  await ann.getByRole("button", { name: "Create the workspace" }).click();
  await ann.getByRole("heading", { level: 1, name: "#general" }).waitFor();
  const [, ws, general] = new URL(ann.url()).pathname.split("/").filter(Boolean);

  await ann.getByLabel("Message #general").fill("Hello **team**, here is the plan:\n```js\nconst ready = true;\n```");
  await ann.getByLabel("Message #general").press("Enter");
  const log = (p) => p.getByRole("log", { name: "Messages in #general" });
  await log(ann).locator("strong", { hasText: "team" }).waitFor();
  await log(ann).locator("pre code .hljs-keyword", { hasText: "const" }).waitFor();

  // An invite link; Bob opens it and joins.
  await ann.getByRole("button", { name: "Invite people" }).click();
  await ann.getByRole("button", { name: "Make an invite link" }).click();
  const link = await ann.getByLabel("Invite link").inputValue();
  assert.match(link, new RegExp(`^${BASE}/join/[A-Z0-9]+$`));
  await signIn(bob, "bob@chat.example", "bob-password", "/account");
  await bob.goto(link);
  await bob.getByText("You are invited to").waitFor();
  await shot(bob, "chat-join");
  await bob.getByRole("button", { name: "Join Crew Room" }).click();
  await bob.getByRole("heading", { level: 1, name: "#general" }).waitFor();
  await log(bob).locator("strong", { hasText: "team" }).waitFor();

  // Presence: Ann sees Bob come online.
  const people = (p) => p.getByRole("complementary", { name: "People and agents" });
  await people(ann).getByRole("listitem").filter({ hasText: "Bob" }).getByText("online").waitFor();

  // Typing, then a message with a mention: live on Ann's side.
  await bob.getByLabel("Message #general").pressSequentially("Hi @An");
  await ann.getByText("Bob is typing…").waitFor();
  await bob.getByRole("option", { name: "@Ann" }).click();
  await bob.getByLabel("Message #general").press("End");
  await bob.getByLabel("Message #general").pressSequentially("glad to be here");
  await bob.getByRole("button", { name: "Send" }).click();
  const bobs = log(ann).getByRole("article", { name: /^Bob at/ });
  await bobs.filter({ hasText: "glad to be here" }).waitFor();
  assert.match(await bobs.first().getAttribute("class"), /mentioned/);
  await ann.getByText("Bob is typing…").waitFor({ state: "detached" });

  // Ann reacts and replies; Bob sees both.
  await bobs.first().getByRole("button", { name: "React", exact: true }).click();
  await bobs.first().getByRole("button", { name: "React with 🎉" }).click();
  await log(bob).getByRole("button", { name: /🎉 1/ }).waitFor();
  await bobs.first().getByRole("button", { name: "Reply" }).click();
  await ann.getByLabel("Message #general").fill("Welcome aboard");
  await ann.getByLabel("Message #general").press("Enter");
  await log(bob).getByText("↳ Bob: Hi @Ann glad to be here").waitFor();

  // An agent joins (by its id) and posts over the API; both humans see it.
  await ann.getByRole("button", { name: "Add an agent" }).click();
  await ann.getByLabel("Agent id or key fingerprint").fill(AGENT_ID);
  await ann.getByRole("button", { name: "Add", exact: true }).click();
  await people(ann).getByRole("listitem").filter({ hasText: "agent" }).waitFor();
  const posted = await fetch(`${BASE}/api/collections/chat_messages/records`, {
    method: "POST",
    headers: AGENT,
    body: JSON.stringify({ channel: general, text: "Agent here: *ready* when you are." }),
  });
  assert.equal(posted.status, 200, await posted.text());
  for (const p of [ann, bob]) {
    const msg = log(p).getByRole("article").filter({ hasText: "ready when you are" });
    await msg.getByText("agent", { exact: true }).waitFor();
  }

  // Bob attaches an image; Ann sees it load (a protected file, with a file token).
  const png = Buffer.from(await (await fetch(`${DESK}/design.png`)).arrayBuffer());
  await bob.getByLabel("Attach files").setInputFiles({ name: "sketch.png", mimeType: "image/png", buffer: png });
  await bob.getByLabel("Message #general").fill("The sketch");
  await bob.getByRole("button", { name: "Send" }).click();
  const img = log(ann).getByRole("img", { name: /^sketch.*\.png$/ });
  await img.waitFor();
  await ann.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle());
  await shot(ann, "chat-ann");
  await shot(bob, "chat-bob");

  // Search across the workspace.
  await ann.getByLabel("Search messages").fill("sketch");
  await ann.getByRole("button", { name: "Search", exact: true }).click();
  await ann.getByRole("region", { name: "Search results" }).getByText("The sketch").waitFor();
  await ann.getByRole("button", { name: "Close" }).click();

  // The signed-in chat passes the accessibility checks too.
  assert.deepEqual(await seriousViolations(ann), [], "chat");

  // A direct message: Bob sees it counted unread in his sidebar.
  await ann.getByRole("button", { name: "Message someone" }).click();
  await ann.getByLabel("With").selectOption({ label: "Bob" });
  await ann.getByRole("button", { name: "Open" }).click();
  await ann.getByRole("heading", { level: 1, name: "Bob" }).waitFor();
  await ann.getByLabel("Message Bob").fill("Just between us");
  await ann.getByLabel("Message Bob").press("Enter");
  await ann.getByRole("log", { name: "Messages in Bob" }).getByText("Just between us").waitFor();
  const dm = bob.getByRole("navigation", { name: "Channels" }).getByRole("link", { name: /^Ann\s*1 unread$/ });
  await dm.waitFor({ timeout: 10000 });
  await dm.click();
  await bob.getByRole("log").getByText("Just between us").waitFor();
}

test("chat works at phone width", async () => {
  const page = await open({ width: 360, height: 740 });
  await signIn(page, "bob@chat.example", "bob-password", "/app");
  await page.getByRole("heading", { level: 1, name: "#general" }).waitFor();
  await page.getByRole("log").getByText("The sketch").waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the chat is ${overflow}px wider than the screen`);
  await page.getByRole("button", { name: /channels$/ }).click();
  await page.getByRole("navigation", { name: "Channels" }).getByRole("link", { name: /general/ }).waitFor();
  await shot(page, "phone-chat");
  await page.context().close();
});

test("no chat page logged an error", () => {
  assert.deepEqual(problems, []);
});
