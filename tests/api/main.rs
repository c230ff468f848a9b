//! Integration tests through HTTP against a real Redis the harness starts itself
//! (standalone by default, a 3+3 cluster with `AGORA_TEST_CLUSTER=1`).

mod billing;
mod carts;
mod cli;
mod commerce;
mod locks;
mod helpers;
mod openapi;
mod orders;
mod ops;
mod plumbing;
mod products;
mod redis_down;
mod sessions;
mod users;
