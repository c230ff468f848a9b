//! Integration tests through HTTP against a real Redis the harness starts itself
//! (standalone by default, a 3+3 cluster with `AGORA_TEST_CLUSTER=1`).

mod billing;
mod carts;
mod cli;
mod commerce;
mod helpers;
mod locks;
mod openapi;
mod ops;
mod orders;
mod plumbing;
mod products;
mod redis_down;
mod sessions;
mod users;
