// PocketBase's official JS SDK, unchanged, against a running server of the framework.
// Run by tests/js_sdk.rs: GATHER_URL, SU_EMAIL and SU_PASSWORD come from the environment.
import { test } from "node:test";
import assert from "node:assert/strict";
import PocketBase from "pocketbase";
import { EventSource } from "eventsource";

// Node 20 has no EventSource; browsers do. The SDK's realtime client uses the global.
globalThis.EventSource = EventSource;

const BASE = process.env.GATHER_URL;
const SU_EMAIL = process.env.SU_EMAIL;
const SU_PASSWORD = process.env.SU_PASSWORD;

async function superuser() {
  const pb = new PocketBase(BASE);
  await pb.collection("_superusers").authWithPassword(SU_EMAIL, SU_PASSWORD);
  return pb;
}

async function waitFor(check, ms = 5000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("superusers log in and define collections", async () => {
  const pb = await superuser();
  assert.ok(pb.authStore.isValid);
  assert.ok(pb.authStore.isSuperuser);
  await pb.collections.create({
    name: "sdk_posts",
    type: "base",
    listRule: "",
    viewRule: "",
    createRule: "@request.auth.id != ''",
    updateRule: "author = @request.auth.id",
    deleteRule: "author = @request.auth.id",
    fields: [
      { name: "title", type: "text", required: true },
      { name: "views", type: "number" },
      { name: "author", type: "relation", collectionId: "_pb_users_auth_", maxSelect: 1 },
      { name: "meta", type: "json" },
      // As in PocketBase, the API adds no timestamps the schema does not name.
      { name: "created", type: "autodate", onCreate: true },
      { name: "updated", type: "autodate", onCreate: true, onUpdate: true },
    ],
  });
  const all = await pb.collections.getFullList();
  assert.ok(all.some((c) => c.name === "sdk_posts"));
  const settings = await pb.settings.getAll();
  assert.equal(typeof settings.meta.appName, "string");
});

test("users sign up, log in, refresh, and work with records under rules", async () => {
  const pb = new PocketBase(BASE);
  const user = await pb.collection("users").create({
    email: "sdk@example.com",
    password: "sdk-password-1",
    passwordConfirm: "sdk-password-1",
    name: "SDK",
  });
  const auth = await pb.collection("users").authWithPassword("sdk@example.com", "sdk-password-1");
  assert.equal(auth.record.id, user.id);
  assert.equal(pb.authStore.record.email, "sdk@example.com");
  assert.equal(pb.authStore.isSuperuser, false);
  const methods = await pb.collection("users").listAuthMethods();
  assert.equal(methods.password.enabled, true);
  assert.deepEqual(methods.password.identityFields, ["email"]);
  const refreshed = await pb.collection("users").authRefresh();
  assert.ok(refreshed.token.length > 20);

  const post = await pb
    .collection("sdk_posts")
    .create({ title: "hello", views: 3, author: user.id, meta: { tags: ["a"] } });
  const got = await pb.collection("sdk_posts").getOne(post.id, { expand: "author" });
  assert.equal(got.expand.author.id, user.id);
  assert.deepEqual(got.meta, { tags: ["a"] });
  const page = await pb.collection("sdk_posts").getList(1, 10, {
    filter: pb.filter("title ~ {:t} && views >= {:v} && created <= {:now}", {
      t: "hel",
      v: 2,
      now: new Date(Date.now() + 60_000),
    }),
    sort: "-created",
  });
  assert.equal(page.totalItems, 1);
  const first = await pb.collection("sdk_posts").getFirstListItem('title = "hello"');
  assert.equal(first.id, post.id);
  const updated = await pb.collection("sdk_posts").update(post.id, { "views+": 2 });
  assert.equal(updated.views, 5);

  // Errors arrive as ClientResponseError with PocketBase's envelope.
  await assert.rejects(pb.collection("sdk_posts").create({ views: "abc" }), (e) => {
    assert.equal(e.status, 400);
    assert.equal(e.response.data.title.code, "validation_required");
    assert.equal(e.response.data.views.code, "validation_invalid_type");
    return true;
  });
  await assert.rejects(
    new PocketBase(BASE).collection("users").authWithPassword("sdk@example.com", "wrong"),
    (e) => e.status === 400 && e.message === "Failed to authenticate.",
  );

  await pb.collection("sdk_posts").delete(post.id);
  await assert.rejects(pb.collection("sdk_posts").getOne(post.id), (e) => e.status === 404);
});

test("pb.filter bindings match stored strings exactly, as in PocketBase", async () => {
  const pb = await superuser();
  // Quotes of both kinds, backslashes, newlines, LIKE wildcards, non-ASCII. (A value that
  // ends in a backslash cannot be written in the SDK's quoting: PocketBase 0.40.6 answers
  // 400 for it too.)
  const values = [
    "plain", "it's", 'say "hi"', "back\\slash", "a\\'b", 'c\\"d', "multi\nline",
    "tab\there", "50%", "a_b", "ünïcode ✓", "both ' and \"", "'", '"', "\\\\x",
  ];
  const made = {};
  for (const title of values) {
    made[title] = (await pb.collection("sdk_posts").create({ title })).id;
  }
  for (const title of values) {
    const eq = await pb.collection("sdk_posts").getFullList({
      filter: pb.filter("title = {:t}", { t: title }),
    });
    assert.deepEqual(eq.map((r) => r.id), [made[title]], `= ${JSON.stringify(title)}`);
    const like = await pb.collection("sdk_posts").getFullList({
      filter: pb.filter("title ~ {:t}", { t: title }),
    });
    assert.ok(like.some((r) => r.id === made[title]), `~ ${JSON.stringify(title)}`);
    const first = await pb.collection("sdk_posts").getFirstListItem(pb.filter("title = {:t}", { t: title }));
    assert.equal(first.id, made[title]);
  }
  for (const id of Object.values(made)) await pb.collection("sdk_posts").delete(id);
});

test("e-mail requests, OTP and impersonation", async () => {
  const pb = new PocketBase(BASE);
  assert.equal(await pb.collection("users").requestPasswordReset("sdk@example.com"), true);
  assert.equal(await pb.collection("users").requestVerification("nobody@example.com"), true);
  const su = await superuser();
  await su.collections.update("users", { otp: { enabled: true } });
  const otp = await pb.collection("users").requestOTP("sdk@example.com");
  assert.equal(typeof otp.otpId, "string");
  await assert.rejects(
    pb.collection("users").authWithOTP(otp.otpId, "00000000"),
    (e) => e.status === 400,
  );
  const user = await su.collection("users").getFirstListItem('email = "sdk@example.com"');
  const as = await su.collection("users").impersonate(user.id, 60);
  assert.equal(as.authStore.record.id, user.id);
  const mine = await as.collection("users").getOne(user.id);
  assert.equal(mine.email, "sdk@example.com");
});

test("realtime subscriptions deliver record events", async () => {
  const pb = new PocketBase(BASE);
  const auth = await pb.collection("users").authWithPassword("sdk@example.com", "sdk-password-1");
  const events = [];
  const unsubscribe = await pb.collection("sdk_posts").subscribe("*", (e) => events.push(e));
  const created = await pb.collection("sdk_posts").create({ title: "live", author: auth.record.id });
  await waitFor(() => events.length >= 1);
  assert.equal(events[0].action, "create");
  assert.equal(events[0].record.id, created.id);
  const one = [];
  await pb.collection("sdk_posts").subscribe(created.id, (e) => one.push(e), { fields: "id,title" });
  await pb.collection("sdk_posts").update(created.id, { title: "live, edited" });
  await waitFor(() => one.length >= 1 && events.length >= 2);
  assert.deepEqual(Object.keys(one[0].record).sort(), ["id", "title"]);
  assert.equal(one[0].record.title, "live, edited");
  await unsubscribe();
  await pb.realtime.unsubscribe();
});

test("batches commit all or nothing", async () => {
  const pb = await superuser();
  const batch = pb.createBatch();
  batch.collection("sdk_posts").create({ id: "sdkbatch0000001", title: "batched" });
  batch.collection("sdk_posts").update("sdkbatch0000001", { "views+": 3 });
  batch.collection("sdk_posts").upsert({ id: "sdkbatch0000002", title: "upserted" });
  const answers = await batch.send();
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200]);
  assert.equal(answers[1].body.views, 3);

  const failing = pb.createBatch();
  failing.collection("sdk_posts").delete("sdkbatch0000001");
  failing.collection("sdk_posts").create({ title: "" });
  await assert.rejects(failing.send(), (err) => {
    assert.equal(err.status, 400);
    assert.equal(err.response.data.requests["1"].code, "batch_request_failed");
    return true;
  });
  const kept = await pb.collection("sdk_posts").getOne("sdkbatch0000001");
  assert.equal(kept.views, 3);
});

test("files upload as the SDK sends them and download by their URL", async () => {
  const pb = await superuser();
  await pb.collections.create({
    name: "sdk_files",
    type: "base",
    listRule: "",
    viewRule: "",
    createRule: "",
    fields: [
      { name: "title", type: "text" },
      { name: "docs", type: "file", maxSelect: 5 },
      { name: "meta", type: "json" },
      // As in PocketBase, the API adds no timestamps the schema does not name.
      { name: "created", type: "autodate", onCreate: true },
      { name: "updated", type: "autodate", onCreate: true, onUpdate: true },
    ],
  });
  const guest = new PocketBase(BASE);
  const rec = await guest.collection("sdk_files").create({
    title: "with a file",
    meta: { a: 1 },
    docs: [new Blob(["hello from the sdk"], { type: "text/plain" }), new Blob(["two"])],
  });
  assert.equal(rec.docs.length, 2);
  assert.deepEqual(rec.meta, { a: 1 });
  const url = guest.files.getURL(rec, rec.docs[0], { download: 1 });
  const resp = await fetch(url);
  assert.equal(resp.status, 200);
  assert.equal(await resp.text(), "hello from the sdk");
  assert.match(resp.headers.get("content-disposition"), /^attachment/);
  const token = await pb.files.getToken();
  assert.equal(typeof token, "string");
});
