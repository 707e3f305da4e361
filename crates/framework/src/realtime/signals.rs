//! Signals: ephemeral realtime messages (typing, presence) that are never stored. One
//! is published to a custom topic and reaches the clients subscribed to it whose auth
//! may view a given record (its collection's view rule), on every instance.

use crate::app::App;
use crate::error::Result;
use crate::filter::RequestInfo;
use crate::realtime::broker::{Client, Message};
use crate::records::read::find_visible;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// A signal as it travels between instances.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Signal {
    pub topic: String,
    pub data: Value,
    /// The collection (id) and record whose viewers may hear it.
    pub collection: String,
    pub record: String,
}

impl App {
    /// Sends `data` to the realtime clients subscribed to the custom `topic` whose auth
    /// passes the view rule of record `record` of `collection`, here and on the other
    /// instances; returns how many clients of this instance got it.
    pub async fn signal(
        &self,
        topic: &str,
        data: Value,
        collection: &str,
        record: &str,
    ) -> Result<usize> {
        let c = self.collection(collection)?;
        let signal = Signal {
            topic: topic.to_string(),
            data,
            collection: c.id.clone(),
            record: record.to_string(),
        };
        if let Some(a) = self.announcer() {
            a.signal(signal.clone());
        }
        deliver(self, &signal).await
    }
}

/// A client and the subscription (as it sent it) a signal reaches it under.
type Listener = (Arc<Client>, Arc<str>);

/// Hands `signal` to this instance's clients that may hear it. Clients are grouped by
/// auth, so a thousand members cost one rule check each, not one per subscription.
pub(crate) async fn deliver(app: &App, signal: &Signal) -> Result<usize> {
    let broker = app.realtime();
    let listeners = broker.subscribed_to(&signal.topic);
    if listeners.is_empty() {
        return Ok(0);
    }
    let Some(c) = app.registry().find(&signal.collection) else {
        return Ok(0);
    };
    let mut groups: HashMap<String, Vec<Listener>> = HashMap::new();
    let mut auths = HashMap::new();
    for (client, event) in listeners {
        let auth = client.auth();
        let key = auth
            .as_ref()
            .map(|a| format!("{}/{}", a.collection.id, a.id()))
            .unwrap_or_default();
        auths.entry(key.clone()).or_insert(auth);
        groups.entry(key).or_default().push((client, event));
    }
    let text: Arc<str> = signal.data.to_string().into();
    let mut sent = 0;
    for (key, members) in groups {
        let req = RequestInfo {
            auth: auths.remove(&key).flatten(),
            method: "GET".into(),
            context: "realtime".into(),
            ..Default::default()
        };
        if find_visible(app, &c, &signal.record, &c.view_rule, &req)
            .await?
            .is_none()
        {
            continue;
        }
        for (client, event) in members {
            broker.deliver(
                &client,
                Message {
                    event,
                    data: text.clone(),
                },
            );
            sent += 1;
        }
    }
    Ok(sent)
}
