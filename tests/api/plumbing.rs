//! The Redis plumbing on its own: slot-grouped batches, dedicated connections, script
//! reload after NOSCRIPT. These are what make the same code work on a cluster.

use agora::redis::batch::Batch;
use redis::{AsyncCommands, Value};

use crate::helpers::{PASSWORD, spawn_app};

#[tokio::test]
async fn a_batch_spanning_many_slots_answers_in_order() {
    let app = spawn_app().await;
    let keys: Vec<String> = (0..200)
        .map(|i| app.redis.keys.user(&i.to_string()))
        .collect();
    let mut writes = Batch::new();
    for (i, key) in keys.iter().enumerate() {
        writes.add(
            key.clone(),
            redis::cmd("HSET").arg(key).arg("n").arg(i).clone(),
        );
    }
    writes.run(&app.redis.conn).await.unwrap();

    let mut reads = Batch::new();
    for key in &keys {
        reads.add(key.clone(), redis::cmd("HGET").arg(key).arg("n").clone());
    }
    let replies = reads.run(&app.redis.conn).await.unwrap();

    let values: Vec<u64> = replies
        .into_iter()
        .map(|v| redis::from_redis_value(v).unwrap())
        .collect();
    assert_eq!(values, (0..200).collect::<Vec<u64>>());
    assert!(Batch::new().run(&app.redis.conn).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_blocking_command_on_a_dedicated_connection_does_not_stall_the_shared_one() {
    let app = spawn_app().await;
    let queue = app.redis.keys.email_queue();
    let mut dedicated = app.redis.dedicated().await.unwrap();
    let waiting = tokio::spawn(async move {
        let popped: Option<(String, String)> = dedicated.brpop(&queue, 5.0).await.unwrap();
        popped
    });

    // The shared connection keeps serving while BRPOP blocks.
    let started = std::time::Instant::now();
    assert_eq!(app.get("/readyz", None).await.status(), 200);
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    let _: u64 = app
        .conn()
        .lpush(app.redis.keys.email_queue(), "job")
        .await
        .unwrap();

    let popped = waiting.await.unwrap();
    assert_eq!(popped.map(|(_, job)| job).as_deref(), Some("job"));
}

#[tokio::test]
async fn scripts_are_reloaded_after_redis_forgets_them() {
    let app = spawn_app().await;
    app.user("scripted").await;

    let _: Value = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut app.conn())
        .await
        .unwrap();

    assert_eq!(app.login("scripted", PASSWORD).await.status(), 201);
}
