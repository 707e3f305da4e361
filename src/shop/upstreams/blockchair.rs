//! Blockchair's Bitcoin Cash API (contract §8.5): one transaction, with its block, time
//! and outputs, and how many blocks the chain has (for confirmations).

use super::{json_answer, unavailable, Endpoint};
use framework::{App, Error, Result};
use futures::future::BoxFuture;
use serde_json::Value;

const SERVICE: &str = "Blockchair";

/// A transaction as the chain has it.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    /// The block it is in; `None` while it waits in the mempool.
    pub block: Option<i64>,
    /// When it was mined (or first seen), UTC.
    pub time: chrono::DateTime<chrono::Utc>,
    /// Every output: recipient address (without the `bitcoincash:` prefix) and satoshis.
    pub outputs: Vec<(String, i64)>,
    /// Blocks on top of its own, its own included (0 in the mempool).
    pub confirmations: i64,
}

/// Where transactions are looked up.
pub trait Chain: Send + Sync {
    /// The transaction `tx_id`, `None` when the chain does not know it.
    fn transaction<'a>(&'a self, tx_id: &'a str) -> BoxFuture<'a, Result<Option<Transaction>>>;
}

/// Blockchair at `shop.blockchairURL` (`https://api.blockchair.com`).
pub struct BlockchairHttp(pub Endpoint);

impl BlockchairHttp {
    pub async fn from_settings(app: &App) -> Result<BlockchairHttp> {
        Endpoint::from_settings(app, |s| &s.blockchair_url)
            .await
            .map(BlockchairHttp)
    }
}

/// An address as Blockchair writes recipients: no `bitcoincash:` prefix, lower case.
pub fn plain_address(address: &str) -> String {
    let a = address.trim();
    let a = a
        .strip_prefix("bitcoincash:")
        .or_else(|| a.strip_prefix("BITCOINCASH:"))
        .unwrap_or(a);
    a.to_lowercase()
}

/// Reads Blockchair's dashboard answer for `tx_id`.
fn parse(answer: &Value, tx_id: &str) -> Result<Option<Transaction>> {
    let malformed = || unavailable(SERVICE, "its answer was not a transaction dashboard");
    let data = &answer["data"];
    let entry = match data {
        Value::Object(map) => match map.get(tx_id) {
            Some(e) => e,
            None => return Ok(None),
        },
        // Blockchair answers `"data": []` for a transaction it does not know.
        Value::Array(a) if a.is_empty() => return Ok(None),
        _ => return Err(malformed()),
    };
    let tx = &entry["transaction"];
    let block = tx["block_id"].as_i64().ok_or_else(malformed)?;
    let block = (block > 0).then_some(block);
    let time = tx["time"]
        .as_str()
        .and_then(|t| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").ok())
        .map(|t| t.and_utc())
        .ok_or_else(malformed)?;
    let outputs = entry["outputs"]
        .as_array()
        .ok_or_else(malformed)?
        .iter()
        .map(|o| {
            let to = o["recipient"].as_str().map(plain_address);
            let value = o["value"].as_i64();
            to.zip(value).ok_or_else(malformed)
        })
        .collect::<Result<Vec<_>>>()?;
    let tip = answer["context"]["state"].as_i64().unwrap_or(0);
    let confirmations = block.map_or(0, |b| (tip - b + 1).max(1));
    Ok(Some(Transaction {
        block,
        time,
        outputs,
        confirmations,
    }))
}

impl Chain for BlockchairHttp {
    fn transaction<'a>(&'a self, tx_id: &'a str) -> BoxFuture<'a, Result<Option<Transaction>>> {
        Box::pin(async move {
            let path = format!("/bitcoin-cash/dashboards/transaction/{tx_id}");
            let sent = self.0.get(&path).send().await;
            if sent
                .as_ref()
                .is_ok_and(|r| r.status() == reqwest::StatusCode::NOT_FOUND)
            {
                return Ok(None);
            }
            parse(&json_answer(SERVICE, sent).await?, tx_id)
        })
    }
}

/// A transaction id: 64 lowercase hex digits.
pub fn check_tx_id(tx_id: &str) -> Result<()> {
    let ok = tx_id.len() == 64
        && tx_id
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if ok {
        Ok(())
    } else {
        Err(Error::BadRequest(
            "tx_id is a transaction id: 64 lowercase hexadecimal digits.".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TX: &str = "aa00000000000000000000000000000000000000000000000000000000000001";

    #[test]
    fn dashboards_are_read() {
        let answer = json!({"data": {TX: {
            "transaction": {"block_id": 800_000, "time": "2026-12-03 10:00:00", "hash": TX},
            "inputs": [],
            "outputs": [{"recipient": "qshop", "value": 4_001_234}, {"recipient": "qchange", "value": 5}]
        }}, "context": {"code": 200, "state": 800_002}});
        let tx = parse(&answer, TX).expect("ok").expect("found");
        assert_eq!(tx.block, Some(800_000));
        assert_eq!(tx.confirmations, 3);
        assert_eq!(tx.outputs[0], ("qshop".to_string(), 4_001_234));
        assert_eq!(tx.time.to_rfc3339(), "2026-12-03T10:00:00+00:00");
        // In the mempool.
        let mut pending = answer.clone();
        pending["data"][TX]["transaction"]["block_id"] = json!(-1);
        let tx = parse(&pending, TX).expect("ok").expect("found");
        assert_eq!((tx.block, tx.confirmations), (None, 0));
        // Unknown, or not what Blockchair sends.
        assert_eq!(parse(&json!({"data": []}), TX).expect("ok"), None);
        assert_eq!(parse(&json!({"data": {}}), TX).expect("ok"), None);
        assert!(parse(&json!({"data": "x"}), TX).is_err());
        let mut bad = answer.clone();
        bad["data"][TX]["outputs"][0]["value"] = json!("lots");
        assert!(parse(&bad, TX).is_err());
    }

    #[test]
    fn addresses_and_ids() {
        assert_eq!(plain_address("bitcoincash:QPM2Q"), "qpm2q");
        assert_eq!(plain_address(" qpm2q "), "qpm2q");
        assert!(check_tx_id(TX).is_ok());
        assert!(check_tx_id(&TX.to_uppercase()).is_err());
        assert!(check_tx_id("abc").is_err());
    }
}
