//! The e-mail queue: delivery, retries with backoff, the dead list, and a worker that
//! dies holding a job.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use agora::jobs::email_worker::{EmailWorker, Mailer, OutboxMailer, Outcome, WorkerConfig};
use agora::jobs::{EmailJob, email_stats, enqueue_email};
use redis::AsyncCommands;
use serde_json::Value;

use crate::helpers::{problem, spawn_app};

fn quick() -> WorkerConfig {
    WorkerConfig {
        lease: Duration::from_millis(300),
        max_attempts: 3,
        backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        block: Duration::from_millis(200),
        ..WorkerConfig::default()
    }
}

fn job(id: &str) -> EmailJob {
    EmailJob {
        id: id.to_string(),
        kind: "welcome".into(),
        user_id: "1".into(),
        to: "someone@example.com".into(),
        created_at: "2026-01-01T00:00:00.000Z".into(),
        attempts: 0,
        last_error: None,
    }
}

/// Fails the first `failures` sends, then succeeds.
struct Flaky {
    failures: u32,
    calls: Arc<AtomicU32>,
}

impl Mailer for Flaky {
    async fn send(&self, _job: &EmailJob) -> Result<(), String> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if call < self.failures {
            Err(format!("smtp down (call {call})"))
        } else {
            Ok(())
        }
    }
}

#[tokio::test]
async fn registration_enqueues_a_welcome_email_that_the_worker_delivers() {
    let app = spawn_app().await;
    let user = app.user("newbie").await;
    let mut worker = EmailWorker::new(app.redis.clone(), OutboxMailer, quick());

    let outcome = worker.step().await.unwrap();

    assert_eq!(outcome, Outcome::Delivered(format!("welcome-{}", user.id)));
    assert_eq!(worker.step().await.unwrap(), Outcome::Empty);
    let stats = email_stats(&app.redis).await.unwrap();
    assert_eq!(
        (stats.pending, stats.processing, stats.delivered),
        (0, 0, 1)
    );
    let record: String = app
        .conn()
        .hget(
            app.redis.keys.email_outbox(),
            format!("welcome-{}", user.id),
        )
        .await
        .unwrap();
    assert!(record.contains("delivered_at"));
}

#[tokio::test]
async fn a_failing_job_is_retried_with_backoff_then_delivered() {
    let app = spawn_app().await;
    enqueue_email(&app.redis, &job("flaky-1")).await.unwrap();
    let calls = Arc::new(AtomicU32::new(0));
    let mut worker = EmailWorker::new(
        app.redis.clone(),
        Flaky {
            failures: 2,
            calls: calls.clone(),
        },
        quick(),
    );

    assert_eq!(
        worker.step().await.unwrap(),
        Outcome::Retrying("flaky-1".into())
    );
    assert_eq!(email_stats(&app.redis).await.unwrap().retrying, 1);
    assert_eq!(worker.step().await.unwrap(), Outcome::Empty, "not due yet");
    let mut delivered = false;
    for _ in 0..40 {
        worker.upkeep().await.unwrap();
        if let Outcome::Delivered(_) = worker.step().await.unwrap() {
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    assert!(delivered);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let stats = email_stats(&app.redis).await.unwrap();
    assert_eq!((stats.retrying, stats.dead, stats.delivered), (0, 0, 1));
}

#[tokio::test]
async fn a_job_that_keeps_failing_goes_to_the_dead_list() {
    let app = spawn_app().await;
    enqueue_email(&app.redis, &job("doomed")).await.unwrap();
    let calls = Arc::new(AtomicU32::new(0));
    let mut worker = EmailWorker::new(
        app.redis.clone(),
        Flaky {
            failures: 99,
            calls,
        },
        quick(),
    );

    let mut last = Outcome::Empty;
    for _ in 0..60 {
        worker.upkeep().await.unwrap();
        last = worker.step().await.unwrap();
        if matches!(last, Outcome::Dead(_)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    assert_eq!(last, Outcome::Dead("doomed".into()));
    let dead: Vec<String> = app
        .conn()
        .lrange(app.redis.keys.email_dead(), 0, -1)
        .await
        .unwrap();
    let dead: EmailJob = serde_json::from_str(&dead[0]).unwrap();
    assert_eq!(dead.attempts, 3);
    assert!(dead.last_error.unwrap().contains("smtp down"));
    let stats = email_stats(&app.redis).await.unwrap();
    assert_eq!(
        (stats.pending, stats.processing, stats.retrying, stats.dead),
        (0, 0, 0, 1)
    );
}

#[tokio::test]
async fn a_job_held_by_a_dead_worker_is_delivered_by_another_exactly_once() {
    let app = spawn_app().await;
    enqueue_email(&app.redis, &job("orphan")).await.unwrap();

    // Worker A takes the job and dies before finishing it (its future is dropped
    // while the mailer is still "sending").
    struct Hangs;
    impl Mailer for Hangs {
        async fn send(&self, _job: &EmailJob) -> Result<(), String> {
            std::future::pending().await
        }
    }
    let mut doomed = EmailWorker::new(app.redis.clone(), Hangs, quick());
    let died = tokio::time::timeout(Duration::from_millis(300), doomed.step()).await;
    assert!(died.is_err(), "worker A was still sending when it died");
    drop(doomed);
    assert_eq!(
        email_stats(&app.redis).await.unwrap().processing,
        1,
        "the job is not lost"
    );

    // Worker B starts; once A's lease has passed, upkeep hands the job back.
    let mut rescuer = EmailWorker::new(app.redis.clone(), OutboxMailer, quick());
    let mut delivered = Vec::new();
    for _ in 0..40 {
        rescuer.upkeep().await.unwrap();
        if let Outcome::Delivered(id) = rescuer.step().await.unwrap() {
            delivered.push(id);
        }
        if !delivered.is_empty() && email_stats(&app.redis).await.unwrap().processing == 0 {
            break;
        }
    }

    assert_eq!(delivered, ["orphan"]);
    let stats = email_stats(&app.redis).await.unwrap();
    assert_eq!(
        (stats.pending, stats.processing, stats.delivered),
        (0, 0, 1)
    );
}

#[tokio::test]
async fn the_worker_runs_in_the_background_and_stops_on_shutdown() {
    let app = spawn_app().await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = EmailWorker::new(app.redis.clone(), OutboxMailer, quick());
    let task = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));
    for i in 0..5 {
        enqueue_email(&app.redis, &job(&format!("bg-{i}")))
            .await
            .unwrap();
    }

    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while email_stats(&app.redis).await.unwrap().delivered < 5 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "background worker did not deliver"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("worker stops")
        .unwrap();
}

#[tokio::test]
async fn admins_see_the_queue_depths() {
    let app = spawn_app().await;
    let admin = app.admin("postmaster").await;
    let user = app.user("someone").await;

    let stats: Value = app
        .get("/v1/admin/queues/emails", Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(
        stats["pending"], 2,
        "two registrations, two welcome e-mails"
    );
    assert_eq!(stats["dead"], 0);
    problem(
        app.get("/v1/admin/queues/emails", Some(&user.token)).await,
        403,
    )
    .await;
    problem(app.get("/v1/admin/queues/emails", None).await, 401).await;
}

#[tokio::test]
async fn delivery_records_are_kept_up_to_the_cap_and_the_retention_while_the_total_counts_all() {
    let app = spawn_app().await;
    let keys = &app.redis.keys;
    let capped = WorkerConfig {
        outbox_max: 3,
        outbox_retention: Duration::from_millis(400),
        ..quick()
    };
    let mut worker = EmailWorker::new(app.redis.clone(), OutboxMailer, capped);
    for i in 0..5 {
        enqueue_email(&app.redis, &job(&format!("capped-{i}")))
            .await
            .unwrap();
        assert!(matches!(
            worker.step().await.unwrap(),
            Outcome::Delivered(_)
        ));
    }

    // The cap: the three newest records stay, the two oldest are gone.
    let mut kept: Vec<String> = app.conn().hkeys(keys.email_outbox()).await.unwrap();
    kept.sort();
    assert_eq!(kept, ["capped-2", "capped-3", "capped-4"]);
    let indexed: u64 = app
        .conn()
        .zcard(keys.email_outbox_delivered())
        .await
        .unwrap();
    assert_eq!(indexed, 3);
    assert_eq!(email_stats(&app.redis).await.unwrap().delivered, 5);

    // The retention: records older than it go with the next delivery.
    tokio::time::sleep(Duration::from_millis(500)).await;
    enqueue_email(&app.redis, &job("fresh")).await.unwrap();
    worker.step().await.unwrap();
    let kept: Vec<String> = app.conn().hkeys(keys.email_outbox()).await.unwrap();
    assert_eq!(kept, ["fresh"]);
    assert_eq!(email_stats(&app.redis).await.unwrap().delivered, 6);
}

#[tokio::test]
async fn records_written_before_the_retention_existed_are_adopted_and_trimmed() {
    let app = spawn_app().await;
    let keys = &app.redis.keys;
    // An outbox as the old worker left it: records, no index, no total.
    for i in 0..250 {
        let _: () = app
            .conn()
            .hset(keys.email_outbox(), format!("old-{i}"), "{}")
            .await
            .unwrap();
    }
    assert_eq!(email_stats(&app.redis).await.unwrap().delivered, 250);
    let mut worker = EmailWorker::new(app.redis.clone(), OutboxMailer, quick());

    for i in 0..6 {
        enqueue_email(&app.redis, &job(&format!("new-{i}")))
            .await
            .unwrap();
        worker.step().await.unwrap();
    }

    // Old records count as delivered once, and are dropped as past their retention.
    assert_eq!(email_stats(&app.redis).await.unwrap().delivered, 256);
    let mut kept: Vec<String> = app.conn().hkeys(keys.email_outbox()).await.unwrap();
    kept.sort();
    assert_eq!(kept, (0..6).map(|i| format!("new-{i}")).collect::<Vec<_>>());
    let adopting: bool = app
        .conn()
        .exists(keys.email_outbox_adopting())
        .await
        .unwrap();
    assert!(!adopting, "adoption is finished");
}
