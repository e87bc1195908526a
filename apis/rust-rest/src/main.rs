//! The event-ingestion REST API (Axum + sqlx). Contract: `contract/CONTRACT.md`.

mod error;
mod routes;

use std::process::ExitCode;

use axum::serve::ListenerExt;
use rust_common::config::{init_logging, Config};
use rust_common::{shutdown, startup};

const DEFAULT_PORT: u16 = 8080;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env(DEFAULT_PORT) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("rust-rest: {error}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(config.log_level);
    tracing::info!(?config, "starting");

    let services = match startup::start(&config).await {
        Ok(services) => services,
        Err(error) => {
            tracing::error!("cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let repository = services.repository.clone();
    let app = routes::router(routes::AppState::new(services, config.max_body_bytes));

    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(%error, listen = %config.listen, "cannot listen");
            return ExitCode::FAILURE;
        }
    };
    // Small responses go out at once, as in the other APIs' servers.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });

    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown::signal())
        .await;
    repository.close().await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "server failed");
            ExitCode::FAILURE
        }
    }
}
