//! The Gather platform's integration tests and the `gather` binary's own (several
//! processes on one database, a connection flood), in one binary, on the framework's test
//! server (`common`, shared with the framework's tests).

#[path = "../../crates/framework/tests/integration/common/mod.rs"]
mod common;

mod agents;
mod chat;
mod connection_flood;
mod directory;
mod journey;
mod mcp;
mod multi_instance;
mod openapi_conformance;
mod orders;
mod pages;
mod proofs;
mod rankings;
mod realtime_instances;
mod reviews;
mod runner;
mod shop;
mod skills;
mod upstreams;
