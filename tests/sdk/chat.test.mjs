// A human with PocketBase's official JS SDK, unchanged, and an agent with its JWT (plain
// fetch) chatting in one channel of a Gather server. Run by tests/platform/chat.rs:
// GATHER_URL, AGENT_ID and AGENT_TOKEN come from the environment.
import { test } from "node:test";
import assert from "node:assert/strict";
import PocketBase from "pocketbase";
import { EventSource } from "eventsource";

globalThis.EventSource = EventSource;

const BASE = process.env.GATHER_URL;
const AGENT_ID = process.env.AGENT_ID;
const AGENT = { Authorization: `Bearer ${process.env.AGENT_TOKEN}`, "Content-Type": "application/json" };

async function agent(method, path, body) {
  const r = await fetch(BASE + path, { method, headers: AGENT, body: body && JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

async function waitFor(check, ms = 5000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("a human (JS SDK) and an agent (JWT) chat in one channel", async () => {
  const pb = new PocketBase(BASE);
  await pb.collection("users").create({
    email: "sdk-chat@example.com", password: "password123", passwordConfirm: "password123", name: "Sam",
  });
  await pb.collection("users").authWithPassword("sdk-chat@example.com", "password123");

  const made = await pb.send("/api/chat/workspaces", { method: "POST", body: { name: "SDK crew", slug: "sdk-crew" } });
  const ws = made.workspace.id;
  const general = made.channel.id;
  const bot = await pb.send(`/api/chat/workspaces/${ws}/members`, { method: "POST", body: { agent: AGENT_ID } });
  assert.equal(bot.kind, "agent");

  // The SDK's realtime, filtered to the channel, and the typing topic.
  const heard = [];
  const typing = [];
  await pb.collection("chat_messages").subscribe("*", (e) => heard.push(e), {
    filter: pb.filter("channel = {:ch}", { ch: general }),
  });
  await pb.realtime.subscribe(`chat_typing/${general}`, (e) => typing.push(e));

  // The agent types, then posts.
  assert.equal((await agent("POST", `/api/chat/channels/${general}/typing`)).status, 200);
  await waitFor(() => typing.length === 1);
  assert.equal(typing[0].kind, "agent");
  const posted = await agent("POST", "/api/collections/chat_messages/records", {
    channel: general, text: "Hello from the agent", mentions: [made.member.id],
  });
  assert.equal(posted.status, 200, JSON.stringify(posted.body));
  await waitFor(() => heard.length === 1);
  assert.equal(heard[0].action, "create");
  assert.equal(heard[0].record.author_kind, "agent");
  assert.equal(heard[0].record.text, "Hello from the agent");

  // The human answers through the SDK; the agent reads it through the records API.
  const reply = await pb.collection("chat_messages").create({
    channel: general, text: "Hi, agent!", reply_to: posted.body.id, mentions: [bot.id],
  });
  assert.equal(reply.seq, 2);
  assert.equal(reply.author_kind, "human");
  const after = await agent("GET", `/api/collections/chat_messages/records?filter=${encodeURIComponent(`channel='${general}' && seq > 1`)}`);
  assert.deepEqual(after.body.items.map((m) => m.text), ["Hi, agent!"]);

  // Paging by sequence through the SDK, with the author expanded.
  const page = await pb.collection("chat_messages").getList(1, 10, {
    filter: pb.filter("channel = {:ch}", { ch: general }), sort: "seq", expand: "author",
  });
  assert.deepEqual(page.items.map((m) => m.seq), [1, 2]);
  assert.equal(page.items[0].expand.author.name, "helper");

  // An edit and a reaction, live.
  await pb.collection("chat_messages").update(reply.id, { text: "Hi, agent! (edited)" });
  await waitFor(() => heard.some((e) => e.action === "update"));
  const reacted = await agent("POST", "/api/collections/chat_reactions/records", { message: reply.id, emoji: "🎉" });
  assert.equal(reacted.status, 200, JSON.stringify(reacted.body));
  const reactions = await pb.collection("chat_reactions").getFullList({ filter: pb.filter("message = {:m}", { m: reply.id }) });
  assert.deepEqual(reactions.map((r) => r.emoji), ["🎉"]);

  // The mention reached the agent's inbox.
  await waitFor(() => true);
  const inbox = await agent("GET", "/api/inbox");
  assert.ok(inbox.body.messages.some((m) => m.type === "chat_mention" && m.ref_id === reply.id));

  pb.realtime.unsubscribe();
});
