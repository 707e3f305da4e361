// The official MCP TypeScript SDK as an agent on Gather's /mcp: the tool list and its
// schemas, a whole review journey over MCP, errors as tool errors, and sessions that do
// not share a sign-in. Run by tests/platform/mcp.rs, which passes GATHER_URL, AGENT_ID,
// AGENT_PUBLIC_KEY, AGENT_KEY_SEED (the private key's 32 bytes, hex), SKILL_NAME and
// EXPECTED_TOOLS.
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import Ajv2020 from "ajv/dist/2020.js";

const MCP = new URL("/mcp", process.env.GATHER_URL);
const PUBLIC_KEY = process.env.AGENT_PUBLIC_KEY;
// PKCS#8 for an Ed25519 seed: a fixed prefix, then the 32 bytes.
const PRIVATE_KEY = crypto.createPrivateKey({
  key: Buffer.from("302e020100300506032b657004220420" + process.env.AGENT_KEY_SEED, "hex"),
  format: "der",
  type: "pkcs8",
});
const SKILL = process.env.SKILL_NAME;

async function connect(headers) {
  const client = new Client({ name: "gather-test", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(MCP, headers ? { requestInit: { headers } } : undefined);
  await client.connect(transport);
  return client;
}

const text = (r) => r.content.filter((c) => c.type === "text").map((c) => c.text).join("");

async function ok(client, name, args = {}) {
  const r = await client.callTool({ name, arguments: args });
  assert.notEqual(r.isError, true, `${name} failed: ${text(r)}`);
  return r.structuredContent ?? JSON.parse(text(r));
}

async function failed(client, name, args = {}) {
  const r = await client.callTool({ name, arguments: args });
  assert.equal(r.isError, true, `${name} should have failed: ${text(r)}`);
  return text(r);
}

async function signIn(client) {
  const { nonce } = await ok(client, "challenge", { public_key: PUBLIC_KEY });
  const signature = crypto.sign(null, Buffer.from(nonce, "base64"), PRIVATE_KEY).toString("base64");
  return ok(client, "authenticate", { public_key: PUBLIC_KEY, signature });
}

// RFC 8785 for the claim's plain values: keys sorted, no spaces.
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

test("the tools are the agent operations, with valid JSON Schemas", async () => {
  const client = await connect();
  assert.ok(client.getServerVersion().name);
  assert.match(client.getInstructions(), /authenticate/);
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  assert.deepEqual(names, process.env.EXPECTED_TOOLS.split(",").sort());
  // Strict: an unknown keyword or a malformed schema throws.
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, validateFormats: false });
  for (const t of tools) {
    assert.ok(t.description.length > 10, t.name);
    assert.doesNotThrow(() => ajv.compile(t.inputSchema), `${t.name} input`);
    if (t.outputSchema) assert.doesNotThrow(() => ajv.compile(t.outputSchema), `${t.name} output`);
  }
  const { resources } = await client.listResources();
  assert.deepEqual(resources.map((r) => r.uri), ["gather://help"]);
  const { resourceTemplates } = await client.listResourceTemplates();
  assert.deepEqual(resourceTemplates.map((r) => r.uriTemplate), ["gather://skills/{name}/SKILL.md"]);
  const help = await client.readResource({ uri: "gather://help" });
  assert.ok(JSON.parse(help.contents[0].text).endpoints.length > 20);
  const { prompts } = await client.listPrompts();
  assert.deepEqual(prompts.map((p) => p.name), ["review-skill"]);
  await client.close();
});

test("an agent signs in, finds a skill, is challenged and submits a signed review", async () => {
  const client = await connect();
  const session = await signIn(client);
  assert.equal(session.agent_id, process.env.AGENT_ID);

  const found = await ok(client, "list-skills", { q: SKILL.split("/")[1] });
  assert.equal(found.skills[0].name, SKILL);
  const md = await client.readResource({ uri: `gather://skills/${encodeURIComponent(SKILL)}/SKILL.md` });
  assert.equal(md.contents[0].mimeType, "text/markdown");

  const prompt = await client.getPrompt({ name: "review-skill", arguments: { skill: SKILL } });
  assert.match(prompt.messages[0].content.text, /request-review-challenge/);

  const ch = await ok(client, "request-review-challenge", { skill_id: SKILL });
  const review = {
    skill_id: SKILL, task: ch.task, score: 7, security_score: 8,
    what_worked: `${ch.totem}: it formatted every file`, what_failed: "nothing", challenge_id: ch.challenge_id, totem: ch.totem,
  };
  const claim = {
    agent_id: process.env.AGENT_ID, skill: SKILL, skill_version: 1, task: review.task, score: review.score,
    security_score: review.security_score, what_worked: review.what_worked, what_failed: review.what_failed,
    skill_feedback: "", security_notes: "", challenge_id: ch.challenge_id,
  };
  const hash = crypto.createHash("sha256").update(canonical(claim)).digest("hex");
  const signature = crypto.sign(null, Buffer.from(hash), PRIVATE_KEY).toString("base64");
  const done = await ok(client, "submit-review", { ...review, proof: { execution_hash: hash, signature } });
  assert.equal(done.challenged, true);
  assert.equal(done.proof_verified, true, done.proof_note);

  const inbox = await ok(client, "list-inbox", {});
  assert.ok(inbox.total >= 1);
  await client.close();
});

test("errors are tool errors with the route's message", async () => {
  const client = await connect();
  assert.match(await failed(client, "list-inbox"), /`challenge`/);
  assert.match(await failed(client, "authenticate", { public_key: PUBLIC_KEY, signature: "AAAA" }), /HTTP 4\d\d/);
  assert.match(await failed(client, "get-skill", { id: "nobody/nothing" }), /HTTP 404/);
  await assert.rejects(client.readResource({ uri: "gather://nowhere" }));
  await assert.rejects(client.getPrompt({ name: "review-skill", arguments: {} }));
  await client.close();
});

test("two sessions are isolated; a transport token works without signing in", async () => {
  const a = await connect();
  const b = await connect();
  const session = await signIn(a);
  await ok(a, "inbox-unread-count");
  assert.match(await failed(b, "inbox-unread-count"), /`authenticate`/);
  const c = await connect({ Authorization: `Bearer ${session.token}` });
  await ok(c, "inbox-unread-count");
  await Promise.all([a.close(), b.close(), c.close()]);
});
