//! Integration tests through HTTP against a real Redis the harness starts itself
//! (standalone by default, a 3+3 cluster with `AGORA_TEST_CLUSTER=1`).

mod cli;
mod feeds;
mod follows;
mod helpers;
mod openapi;
mod ops;
mod plumbing;
mod posts;
mod redis_down;
mod sessions;
mod tags;
mod users;
