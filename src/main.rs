//! The `agora` binary: parse settings, start logging, run the subcommand.

use std::process::ExitCode;

use agora::app;
use agora::config::{AdminCommand, Cli, Command, MigrateCommand};
use agora::state::AppState;
use agora::{accounts, seed, telemetry, users, workers};
use clap::Parser;

/// glibc malloc took ~20% of the CPU profile of `GET /v1/users/{id}` (many small
/// allocations per request across two threads); mimalloc is the well-kept fix.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(&cli.settings.rust_log, cli.settings.log_format);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("agora: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut settings = cli.settings;
    // The client-side cache serves HTTP reads; the other commands only write or run
    // workers, so they need neither it nor its tracking connections.
    if !matches!(cli.command, Command::Serve { .. }) {
        settings.cache_entries = 0;
    }
    match cli.command {
        Command::Openapi => {
            println!("{}", app::openapi().to_pretty_json()?);
        }
        Command::Serve { no_workers } => {
            let state = AppState::connect(settings.clone()).await?;
            users::password::warm_up();
            if users::identity::legacy_present(&state.redis)
                .await
                .unwrap_or(false)
            {
                tracing::warn!(
                    "the old one-slot username/e-mail indexes still exist: they are read as a \
                     fallback; run `agora migrate identity` once to move them into the buckets"
                );
            }
            let listener = tokio::net::TcpListener::bind(settings.addr).await?;
            tracing::info!(
                addr = %listener.local_addr()?,
                redis = %state.redis.topology().redacted(),
                docs = %format!("http://{}/docs", listener.local_addr()?),
                "agora serving"
            );
            let (stop_workers, workers_stopped) = tokio::sync::watch::channel(false);
            let worker_task = (!no_workers).then(|| {
                let redis = state.redis.clone();
                let mut stopped = workers_stopped.clone();
                tokio::spawn(workers::run(redis, async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                }))
            });
            app::run(listener, state, app::shutdown_signal()).await?;
            let _ = stop_workers.send(true);
            if let Some(task) = worker_task {
                let _ = task.await;
            }
        }
        Command::Worker => {
            let state = AppState::connect(settings).await?;
            workers::run(state.redis.clone(), app::shutdown_signal()).await;
        }
        Command::Seed {
            synthetic: true,
            users,
            posts_per_user,
            follows_per_user,
            products,
            cart_items,
            ..
        } => {
            let state = AppState::connect(settings).await?;
            let options = seed::synthetic::Options {
                users,
                posts_per_user,
                follows_per_user,
                products,
                cart_items,
            };
            println!("{}", seed::synthetic::run(&state.redis, &options).await?);
        }
        Command::Seed { dir, .. } => {
            let state = AppState::connect(settings).await?;
            let report = seed::run(&state.redis, &dir).await?;
            println!(
                "seed: {} users created, {} already present; {} platform records created",
                report.users_created, report.users_existing, report.platform_created
            );
            println!(
                "seed: {} products created, {} already present",
                report.products.created, report.products.existing
            );
        }
        Command::Admin {
            command: AdminCommand::Grant { username },
        } => {
            let state = AppState::connect(settings).await?;
            let id = accounts::grant_admin(&state.redis, &username)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("granted admin to {username} (user {id})");
        }
        Command::Migrate {
            command: MigrateCommand::Identity,
        } => {
            let state = AppState::connect(settings).await?;
            let report = users::identity::migrate_legacy(&state.redis)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{report}");
            anyhow::ensure!(
                report.conflicts.is_empty(),
                "some entries were left in the old index (see above)"
            );
        }
    }
    Ok(())
}
