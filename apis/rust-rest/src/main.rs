//! The event-ingestion REST API (Axum + sqlx). Contract: `contract/CONTRACT.md`.

mod error;
mod routes;

use std::process::ExitCode;

use axum::serve::ListenerExt;
use rust_common::{shutdown, startup};

const DEFAULT_PORT: u16 = 8080;

#[tokio::main]
async fn main() -> ExitCode {
    let Some((config, services)) = startup::from_env("rust-rest", DEFAULT_PORT).await else {
        return ExitCode::FAILURE;
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
