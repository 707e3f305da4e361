//! Realtime: clients connected over SSE, their subscriptions, and record events sent to
//! each client whose auth passes the collection's list rule (`coll/*`) or view rule
//! (`coll/id`), with the subscription's own `filter`, `expand` and `fields`.
//!
//! Events are handled in commit order by one task, so writers never wait for delivery.
//! Each client has a bounded queue; a client that falls `QUEUE` messages behind is
//! disconnected (its stream ends; PocketBase's SDK reconnects and subscribes again), so
//! a slow reader never holds back writers or other clients.

use crate::app::App;
use crate::collections::model::Collection;
use crate::error::{Error, Result};
use crate::filter::{AuthRecord, RequestInfo};
use crate::realtime::access_cache::{self, AccessCache};
use crate::realtime::postgres::{ActionName, Announcement};
use crate::records::read::{self as records, Record};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::mpsc;

/// Messages one client may have waiting before it is dropped.
pub const QUEUE: usize = 512;
/// A stream with nothing to send for this long is closed (the SDK reconnects).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Limits on one client's subscriptions.
pub const MAX_SUBSCRIPTIONS: usize = 1000;
pub const MAX_TOPIC_LEN: usize = 2500;

/// One SSE frame: the `event:` name and the `data:` text, shared by every client that
/// gets the same frame (one event to ten thousand clients is one copy).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub event: Arc<str>,
    pub data: Arc<str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// One subscription as the client sent it, parsed.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// Exactly as submitted: events are named after it.
    pub raw: Arc<str>,
    /// A collection name or id, or a custom topic.
    target: String,
    /// `Some(id)` for `coll/id`, `None` for `coll/*` and bare names.
    record: Option<String>,
    query: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
    /// What decides how the subscriber sees a record besides its auth: the topic kind,
    /// the options (worked out once, not for every event).
    view: Arc<str>,
}

impl Subscription {
    /// `coll/*`, `coll/id`, `coll` or any custom topic, each with an optional
    /// `?options=<url-encoded {"query": {...}, "headers": {...}}>`.
    pub fn parse(raw: &str) -> Result<Subscription> {
        if raw.len() > MAX_TOPIC_LEN {
            return Err(Error::BadRequest(format!(
                "A subscription may be at most {MAX_TOPIC_LEN} characters long."
            )));
        }
        let (topic, options) = match raw.split_once("?options=") {
            Some((t, o)) => (t, Some(o)),
            None => (raw, None),
        };
        let (mut query, mut headers) = (BTreeMap::new(), BTreeMap::new());
        if let Some(o) = options {
            let decoded: String = url::form_urlencoded::parse(format!("o={o}").as_bytes())
                .map(|(_, v)| v.into_owned())
                .next()
                .unwrap_or_default();
            let v: Value = serde_json::from_str(&decoded)
                .map_err(|_| Error::BadRequest("Invalid subscription options: not JSON.".into()))?;
            let strings = |v: &Value| -> BTreeMap<String, String> {
                v.as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| {
                        let s = match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        (k.clone(), s)
                    })
                    .collect()
            };
            query = strings(&v["query"]);
            headers = strings(&v["headers"])
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase().replace('-', "_"), v))
                .collect();
        }
        let (target, record) = match topic.split_once('/') {
            Some((c, "*")) => (c, None),
            Some((c, id)) => (c, Some(id.to_string())),
            None => (topic, None),
        };
        let view = format!("{}|{query:?}|{headers:?}", record.is_some()).into();
        Ok(Subscription {
            raw: raw.into(),
            target: target.to_string(),
            record,
            query,
            headers,
            view,
        })
    }

    fn concerns(&self, c: &Collection, id: &str) -> bool {
        (self.target == c.name || self.target == c.id)
            && self.record.as_deref().is_none_or(|r| r == id)
    }
}

/// A subscription's topic, without its options.
fn topic_of(raw: &str) -> &str {
    raw.split_once("?options=").map_or(raw, |(t, _)| t)
}

#[derive(Default)]
struct ClientState {
    auth: Option<AuthRecord>,
    /// `collectionId/recordId` of `auth` (empty: a guest), for grouping subscribers.
    who: Arc<str>,
    subscriptions: Vec<Subscription>,
}

impl ClientState {
    fn bind(&mut self, auth: Option<AuthRecord>) {
        self.who = auth
            .as_ref()
            .map(|a| format!("{}/{}", a.collection.id, a.id()))
            .unwrap_or_default()
            .into();
        self.auth = auth;
    }
}

/// One connected SSE client.
pub struct Client {
    pub id: String,
    pub ip: Option<IpAddr>,
    tx: mpsc::Sender<Message>,
    state: Mutex<ClientState>,
}

impl Client {
    /// The auth record bound to this client, if any.
    pub fn auth(&self) -> Option<AuthRecord> {
        self.state.lock().ok().and_then(|s| s.auth.clone())
    }

    /// Replaces the subscriptions (and binds `auth` when given).
    pub fn set(&self, auth: Option<AuthRecord>, subscriptions: Vec<Subscription>) {
        if let Ok(mut s) = self.state.lock() {
            if auth.is_some() {
                s.bind(auth);
            }
            s.subscriptions = subscriptions;
        }
    }

    pub fn subscriptions(&self) -> Vec<Arc<str>> {
        self.state
            .lock()
            .map(|s| s.subscriptions.iter().map(|x| x.raw.clone()).collect())
            .unwrap_or_default()
    }
}

/// The record change the delivery task works on.
pub(crate) struct Change {
    collection: Arc<Collection>,
    action: Action,
    record: Record,
    /// Worked out before the change (deletes: the row is gone afterwards).
    ready: Option<Vec<(Arc<Client>, Message)>>,
    /// Another instance's delete: rules are checked against `record` itself.
    gone: bool,
}

/// All connected clients of this instance.
pub struct Broker {
    clients: RwLock<HashMap<String, Arc<Client>>>,
    changes: mpsc::UnboundedSender<Change>,
    queue: usize,
    /// Rule checks of earlier deliveries, and the writes that make them stale.
    access: AccessCache,
}

impl Broker {
    /// A broker and the receiving end of its change queue (see [`run`]).
    pub(crate) fn new(queue: usize) -> (Broker, ChangeQueue) {
        let (tx, rx) = mpsc::unbounded_channel();
        let broker = Broker {
            clients: RwLock::default(),
            changes: tx,
            queue: queue.max(2),
            access: AccessCache::default(),
        };
        (broker, ChangeQueue(rx))
    }

    /// Registers a new client; its stream starts with `PB_CONNECT`.
    pub fn connect(&self, ip: Option<IpAddr>) -> (Arc<Client>, mpsc::Receiver<Message>) {
        let (tx, rx) = mpsc::channel(self.queue);
        let client = Arc::new(Client {
            id: crate::collections::ids::random_token(40),
            ip,
            tx,
            state: Mutex::default(),
        });
        let hello = Message {
            event: "PB_CONNECT".into(),
            data: json!({"clientId": client.id}).to_string().into(),
        };
        let _ = client.tx.try_send(hello);
        if let Ok(mut all) = self.clients.write() {
            all.insert(client.id.clone(), client.clone());
        }
        (client, rx)
    }

    pub fn disconnect(&self, id: &str) {
        if let Ok(mut all) = self.clients.write() {
            all.remove(id);
        }
    }

    pub fn client(&self, id: &str) -> Option<Arc<Client>> {
        self.clients.read().ok()?.get(id).cloned()
    }

    pub fn client_count(&self) -> usize {
        self.clients.read().map(|c| c.len()).unwrap_or(0)
    }

    fn snapshot(&self) -> Vec<Arc<Client>> {
        self.clients
            .read()
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Each client subscribed to the custom `topic`, once per such subscription (with
    /// the subscription as sent: events are named after it).
    pub(crate) fn subscribed_to(&self, topic: &str) -> Vec<(Arc<Client>, Arc<str>)> {
        let mut out = Vec::new();
        for client in self.snapshot() {
            for raw in client.subscriptions() {
                if topic_of(&raw) == topic {
                    out.push((client.clone(), raw.clone()));
                }
            }
        }
        out
    }

    /// Queues `msg` for `client`; a client whose queue is full is disconnected.
    pub(crate) fn deliver(&self, client: &Client, msg: Message) {
        match client.tx.try_send(msg) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(client = %client.id, "realtime client too slow; disconnected");
                self.disconnect(&client.id);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => self.disconnect(&client.id),
        }
    }

    /// Sends `data` to every client subscribed to the custom `topic` (for app code and
    /// hooks); returns how many clients got it.
    pub fn send_custom(&self, topic: &str, data: &Value) -> usize {
        self.snapshot()
            .iter()
            .filter(|client| self.send_custom_to(client, topic, data))
            .count()
    }

    /// Sends `data` to `client` under each of its subscriptions to the custom `topic`;
    /// false when it has none.
    pub fn send_custom_to(&self, client: &Client, topic: &str, data: &Value) -> bool {
        let text: Arc<str> = data.to_string().into();
        let mut sent = false;
        for raw in client.subscriptions() {
            if topic_of(&raw) == topic {
                self.deliver(
                    client,
                    Message {
                        event: raw.clone(),
                        data: text.clone(),
                    },
                );
                sent = true;
            }
        }
        sent
    }

    /// Forgets the auth of clients logged in as this record (deleted, or its tokens
    /// revoked); their streams stay open as guests.
    pub fn forget_auth(&self, collection_id: &str, record_id: &str) {
        for client in self.snapshot() {
            if let Ok(mut s) = client.state.lock() {
                let hit = s
                    .auth
                    .as_ref()
                    .is_some_and(|a| a.collection.id == collection_id && a.id() == record_id);
                if hit {
                    s.bind(None);
                }
            }
        }
    }

    fn has_subscribers(&self, c: &Collection) -> bool {
        self.snapshot().iter().any(|cl| {
            cl.state.lock().is_ok_and(|s| {
                s.subscriptions
                    .iter()
                    .any(|sub| sub.target == c.name || sub.target == c.id)
            })
        })
    }
}

/// The receiving end of a broker's change queue.
pub(crate) struct ChangeQueue(mpsc::UnboundedReceiver<Change>);

/// Tells subscribers, here and on other instances, about a committed create or update
/// (queued; returns at once).
pub fn record_changed(app: &App, c: &Arc<Collection>, action: Action, record: &Record) {
    app.realtime().access.written(&c.name, false);
    let id = record.get("id").and_then(Value::as_str).unwrap_or_default();
    if let Some(a) = app.announcer() {
        a.announce(Announcement {
            collection: c.id.clone(),
            action: action.into(),
            id: id.to_string(),
            record: None,
        });
    }
    let broker = app.realtime();
    if broker.client_count() == 0 || !broker.has_subscribers(c) {
        return;
    }
    let change = Change {
        collection: c.clone(),
        action,
        record: record.clone(),
        ready: None,
        gone: false,
    };
    let _ = broker.changes.send(change);
}

/// Whether records of `c` can be a stream's auth (auth collections, and those whose
/// app tokens the framework accepts).
fn is_caller(app: &App, c: &Collection) -> bool {
    c.is_auth() || app.accepts_tokens_of(&c.name)
}

/// Another instance's change, for this instance's clients.
pub(crate) fn remote_change(app: &App, c: &Arc<Collection>, a: Announcement) {
    let broker = app.realtime();
    let action = match a.action {
        ActionName::Create => Action::Create,
        ActionName::Update => Action::Update,
        ActionName::Delete => Action::Delete,
    };
    broker.access.written(&c.name, action == Action::Delete);
    if is_caller(app, c) && action == Action::Delete {
        broker.forget_auth(&c.id, &a.id);
    }
    if broker.client_count() == 0 || !broker.has_subscribers(c) {
        return;
    }
    let record = match a.record {
        Some(r) if action == Action::Delete => r,
        _ => {
            let mut r = Map::new();
            r.insert("id".into(), Value::String(a.id));
            r
        }
    };
    let change = Change {
        collection: c.clone(),
        action,
        record,
        ready: None,
        gone: action == Action::Delete,
    };
    let _ = broker.changes.send(change);
}

/// Works out, while the record still exists, who may hear of its deletion. Pass the
/// result to [`record_deleted`] once the delete has committed.
pub async fn before_delete(
    app: &App,
    c: &Arc<Collection>,
    record: &Record,
) -> Option<Vec<(Arc<Client>, Message)>> {
    let broker = app.realtime();
    if broker.client_count() == 0 || !broker.has_subscribers(c) {
        return None;
    }
    Some(deliveries(app, c, Action::Delete, record, None).await)
}

/// Sends what [`before_delete`] prepared, in order with the other changes.
pub fn record_deleted(
    app: &App,
    c: &Arc<Collection>,
    record: &Record,
    ready: Option<Vec<(Arc<Client>, Message)>>,
) {
    let id = record.get("id").and_then(Value::as_str).unwrap_or_default();
    app.realtime().access.written(&c.name, true);
    if is_caller(app, c) {
        app.realtime().forget_auth(&c.id, id);
    }
    if let Some(a) = app.announcer() {
        a.announce(Announcement {
            collection: c.id.clone(),
            action: ActionName::Delete,
            id: id.to_string(),
            record: Some(record.clone()),
        });
    }
    let Some(ready) = ready else {
        return;
    };
    let change = Change {
        collection: c.clone(),
        action: Action::Delete,
        record: record.clone(),
        ready: Some(ready),
        gone: false,
    };
    let _ = app.realtime().changes.send(change);
}

impl ChangeQueue {
    pub(crate) async fn next(&mut self) -> Option<Change> {
        self.0.recv().await
    }
}

/// Delivers one change (the app's delivery task calls this in commit order).
pub(crate) async fn handle(app: &App, change: Change) {
    let out = match change.ready {
        Some(ready) => ready,
        None => {
            let row = change.gone.then_some(&change.record);
            deliveries(app, &change.collection, change.action, &change.record, row).await
        }
    };
    let broker = app.realtime();
    for (client, msg) in out {
        broker.deliver(&client, msg);
    }
}

/// Who hears of this change and what each is sent. Subscribers are grouped by what
/// decides their view (auth, topic kind, options), so a thousand guests with the same
/// subscription cost one rule check and one rendering. `row`: check the rules against
/// this record rather than the stored row (another instance deleted it).
async fn deliveries(
    app: &App,
    c: &Arc<Collection>,
    action: Action,
    record: &Record,
    row: Option<&Record>,
) -> Vec<(Arc<Client>, Message)> {
    let Some(id) = record.get("id").and_then(Value::as_str) else {
        return vec![];
    };
    struct Group {
        /// The first member: the group's auth is read from it when needed.
        first: Arc<Client>,
        su: bool,
        auth_collection: Option<String>,
        by_id: bool,
        query: BTreeMap<String, String>,
        headers: BTreeMap<String, String>,
        members: Vec<(Arc<Client>, Arc<str>)>,
    }
    let mut groups: HashMap<(Arc<str>, Arc<str>), Group> = HashMap::new();
    for client in app.realtime().snapshot() {
        let Ok(state) = client.state.lock() else {
            continue;
        };
        for sub in state.subscriptions.iter().filter(|s| s.concerns(c, id)) {
            let key = (state.who.clone(), sub.view.clone());
            let g = groups.entry(key).or_insert_with(|| Group {
                first: client.clone(),
                su: state
                    .auth
                    .as_ref()
                    .is_some_and(|a| a.collection.name == crate::auth::superusers::SUPERUSERS),
                auth_collection: state.auth.as_ref().map(|a| a.collection.name.clone()),
                by_id: sub.record.is_some(),
                query: sub.query.clone(),
                headers: sub.headers.clone(),
                members: vec![],
            });
            g.members.push((client.clone(), sub.raw.clone()));
        }
    }
    let mut out = Vec::new();
    let mut memo = Memo::default();
    for ((who, view), g) in groups {
        let rule = if g.by_id { &c.view_rule } else { &c.list_rule };
        let filter = g.query.get("filter").map(String::as_str);
        let expand = g.query.get("expand").map(String::as_str);
        let fields = g.query.get("fields").map(String::as_str);
        // Groups that see the same record with the same `fields` share one rendering.
        let render = format!("{}|{fields:?}", g.su);
        let asker = Asker {
            key: format!("{who}|{view}"),
            by_id: g.by_id,
            first: &g.first,
            su: g.su,
            auth_collection: g.auth_collection.as_deref(),
            query: &g.query,
            headers: &g.headers,
        };
        let seen = match check(
            app, c, id, &asker, rule, filter, expand, row, &mut memo, &render,
        )
        .await
        {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                tracing::debug!(error = %e, "realtime subscription check failed");
                continue;
            }
        };
        let render = seen.shareable.then_some(render);
        let data = match render.as_ref().and_then(|k| memo.rendered.get(k)) {
            Some(d) => d.clone(),
            None => {
                let shown = crate::records::pick::pick(Value::Object(seen.record), fields);
                let d: Arc<str> = json!({"action": action.as_str(), "record": shown})
                    .to_string()
                    .into();
                if let Some(k) = render {
                    memo.rendered.insert(k, d.clone());
                }
                d
            }
        };
        for (client, event) in g.members {
            out.push((
                client,
                Message {
                    event,
                    data: data.clone(),
                },
            ));
        }
    }
    out
}

/// What one delivery works out once for all its groups.
#[derive(Default)]
struct Memo {
    /// The stored record, read once (`None` inside: it is gone).
    stored: Option<Option<Record>>,
    /// What each rule and filter reads (`None` inside: not to be remembered).
    /// By (list or view rule, filter).
    reads: HashMap<(bool, String), Option<access_cache::Reads>>,
    rendered: HashMap<String, Arc<str>>,
}

/// The group a check is for: who its members are and how they subscribed.
struct Asker<'a> {
    key: String,
    /// Subscribed to one record (the view rule) rather than all (the list rule).
    by_id: bool,
    first: &'a Arc<Client>,
    su: bool,
    auth_collection: Option<&'a str>,
    query: &'a BTreeMap<String, String>,
    headers: &'a BTreeMap<String, String>,
}

impl Asker<'_> {
    /// The request the group's rule sees (made only when a rule must run or a record
    /// be shaped for it).
    fn request(&self) -> RequestInfo {
        RequestInfo {
            auth: self.first.auth(),
            method: "GET".into(),
            context: "realtime".into(),
            query: self.query.clone(),
            headers: self.headers.clone(),
            body: Map::new(),
        }
    }
}

/// A record as one group may see it.
struct Seen {
    record: Record,
    /// Shown the same to every group with the same `fields` (no expand, no e-mail rule).
    shareable: bool,
}

/// Whether the group `key` may see record `id`, and the record as it sees it; the
/// rule's answer is remembered ([`AccessCache`]) when it depends only on the record's
/// fields and collections whose writes this instance hears of.
#[allow(clippy::too_many_arguments)]
async fn check(
    app: &App,
    c: &Arc<Collection>,
    id: &str,
    asker: &Asker<'_>,
    rule: &Option<String>,
    filter: Option<&str>,
    expand: Option<&str>,
    row: Option<&Record>,
    memo: &mut Memo,
    render: &str,
) -> Result<Option<Seen>> {
    let expand = expand.filter(|e| !e.trim().is_empty());
    let shareable = expand.is_none() && !c.is_auth();
    let view = records::SubscriberView {
        rule,
        filter,
        expand,
        row,
    };
    // Superusers pass every rule; remembered checks are for the rest, on stored records.
    let reads = match (rule, row, asker.su) {
        (Some(r), None, false) => {
            let memo_key = (asker.by_id, filter.unwrap_or_default().to_string());
            memo.reads
                .entry(memo_key)
                .or_insert_with(|| access_cache::reads(c, r, filter))
                .clone()
        }
        _ => None,
    };
    let Some(reads) = reads else {
        let seen = records::visible_for_realtime(app, c, id, &asker.request(), &view).await?;
        return Ok(seen.map(|record| Seen { record, shareable }));
    };
    if memo.stored.is_none() {
        memo.stored = Some(records::find_stored(app, c, id).await?);
    }
    let Some(stored) = memo.stored.clone().flatten() else {
        return Ok(None);
    };
    let cache = &app.realtime().access;
    let auth_collection = asker.auth_collection;
    let cache_key = AccessCache::key(c, &asker.key, &reads, &stored);
    let allowed = match cache.get(&cache_key, &reads, auth_collection) {
        Some(allowed) => allowed,
        None => {
            let stamp = cache.before_check(&reads, auth_collection);
            let req = asker.request();
            let seen = records::visible_for_realtime(app, c, id, &req, &view).await?;
            cache.put(cache_key, seen.is_some(), stamp);
            return Ok(seen.map(|record| Seen { record, shareable }));
        }
    };
    if !allowed {
        return Ok(None);
    }
    if shareable && memo.rendered.contains_key(render) {
        // Rendered for an earlier group already: only the answer was needed.
        return Ok(Some(Seen {
            record: Record::new(),
            shareable,
        }));
    }
    let record = records::show(app, c, stored, expand, &asker.request()).await?;
    Ok(Some(Seen { record, shareable }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_parse() {
        let s = Subscription::parse("posts/*").unwrap();
        assert_eq!((s.target.as_str(), s.record.as_deref()), ("posts", None));
        let s = Subscription::parse("posts/abc").unwrap();
        assert_eq!(s.record.as_deref(), Some("abc"));
        let raw = "posts/*?options=%7B%22query%22%3A%7B%22fields%22%3A%22id%22%2C%22n%22%3A1%7D%2C%22headers%22%3A%7B%22X-Api%22%3A%22k%22%7D%7D";
        let s = Subscription::parse(raw).unwrap();
        assert_eq!(&*s.raw, raw);
        assert_eq!(s.query["fields"], "id");
        assert_eq!(s.query["n"], "1");
        assert_eq!(s.headers["x_api"], "k");
        assert!(Subscription::parse("posts/*?options=nope").is_err());
        assert!(Subscription::parse(&"x".repeat(MAX_TOPIC_LEN + 1)).is_err());
    }

    #[tokio::test]
    async fn a_client_that_falls_behind_is_dropped() {
        let (broker, _changes) = Broker::new(3);
        let (client, mut rx) = broker.connect(None);
        client.set(None, vec![Subscription::parse("news").unwrap()]);
        // PB_CONNECT plus two messages fill the queue; the next one overflows it.
        assert_eq!(broker.send_custom("news", &json!(1)), 1);
        assert_eq!(broker.send_custom("news", &json!(2)), 1);
        assert_eq!(broker.client_count(), 1);
        broker.send_custom("news", &json!(3));
        assert_eq!(broker.client_count(), 0);
        // What was queued before is still read, then the stream ends.
        let mut got = vec![];
        while let Some(m) = rx.recv().await {
            got.push(m.event.to_string());
            if got.len() == 3 {
                break;
            }
        }
        assert_eq!(got, ["PB_CONNECT", "news", "news"]);
        drop(client);
        assert!(rx.recv().await.is_none(), "the stream ends with the client");
    }
}
