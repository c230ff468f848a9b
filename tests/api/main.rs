//! Integration tests through HTTP against a real Redis the harness starts itself
//! (standalone by default, a 3+3 cluster with `AGORA_TEST_CLUSTER=1`).

mod accounts;
mod admin;
mod analytics;
mod app_config;
mod authorization;
mod billing;
mod bounded_lists;
mod carts;
mod cli;
mod commerce;
mod email_queue;
mod experiments;
mod feeds;
mod follows;
mod helpers;
mod hot_path;
mod http_edge;
mod identity;
mod instances;
mod leaderboards;
mod locks;
mod notifications;
mod openapi;
mod ops;
mod orders;
mod plumbing;
mod posts;
mod products;
mod public_profiles;
mod rate_limits;
mod redis_down;
mod sessions;
mod tags;
mod text_input;
mod users;
