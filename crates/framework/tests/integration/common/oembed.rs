//! A local stand-in for Twitter's oEmbed endpoint: answers `GET /oembed?url=<tweet>`
//! with whatever the test registered for that tweet URL (404 otherwise).

use poem::web::{Data, Json, Query};
use poem::{get, handler, EndpointExt, IntoResponse, Response, Route};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

type Tweets = Arc<Mutex<HashMap<String, Value>>>;

pub struct OEmbed {
    pub url: String,
    tweets: Tweets,
    _stop: oneshot::Sender<()>,
}

#[handler]
fn oembed(Query(q): Query<HashMap<String, String>>, Data(tweets): Data<&Tweets>) -> Response {
    let url = q.get("url").cloned().unwrap_or_default();
    let found = tweets.lock().ok().and_then(|t| t.get(&url).cloned());
    match found {
        Some(v) => Json(v).into_response(),
        None => poem::http::StatusCode::NOT_FOUND.into_response(),
    }
}

impl OEmbed {
    pub async fn start() -> OEmbed {
        let tweets: Tweets = Arc::default();
        let app = Route::new().at("/oembed", get(oembed)).data(tweets.clone());
        let (base, tx) = super::serve_fake(app).await;
        let url = format!("{base}/oembed");
        OEmbed {
            url,
            tweets,
            _stop: tx,
        }
    }

    /// Publishes a tweet by `author` with `text` at `tweet_url` (as normalised:
    /// twitter.com, no query string).
    pub fn tweet(&self, tweet_url: &str, author: &str, text: &str) {
        let v = serde_json::json!({
            "url": tweet_url,
            "author_name": author,
            "author_url": format!("https://twitter.com/{author}"),
            "html": format!("<blockquote class=\"twitter-tweet\"><p lang=\"en\">{text}</p>&mdash; {author}</blockquote>"),
        });
        if let Ok(mut t) = self.tweets.lock() {
            t.insert(tweet_url.to_string(), v);
        }
    }
}
