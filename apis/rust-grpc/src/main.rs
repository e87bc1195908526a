//! The event-ingestion gRPC API (Tonic + sqlx). Contract: `contract/CONTRACT.md`.

mod auth;
mod deadline;
mod health;
mod service;

use std::process::ExitCode;

use rust_common::{shutdown, startup};
use tonic::transport::Server;

const DEFAULT_PORT: u16 = 9090;

pub mod pb {
    tonic::include_proto!("com.example.grpc");
}

#[tokio::main]
async fn main() -> ExitCode {
    let Some((config, services)) = startup::from_env("rust-grpc", DEFAULT_PORT).await else {
        return ExitCode::FAILURE;
    };
    let repository = services.repository.clone();
    let served = Server::builder()
        .tcp_nodelay(true)
        .layer(service::resource_exhausted_layer())
        .layer(deadline::DeadlineLayer)
        .layer(auth::require_bearer_layer(services.authenticator))
        .add_service(health::server(repository.clone()))
        .add_service(service::server(repository.clone(), config.max_body_bytes))
        .serve_with_shutdown(config.listen, shutdown::signal())
        .await;
    repository.close().await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, listen = %config.listen, "server failed");
            ExitCode::FAILURE
        }
    }
}
