//! Realtime: the broker of SSE clients and their subscriptions, and, on PostgreSQL, the
//! announcements that carry changes between instances (`App::publish` sends to a topic,
//! `App::signal` to a topic's subscribers who may view a record).

pub(crate) mod access_cache;
pub(crate) mod broker;
pub(crate) mod postgres;
pub(crate) mod signals;
