//! The standard `grpc.health.v1.Health` service, answered from the database on every call.

use std::time::Duration;

use rust_common::Repository;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

use crate::service::SERVICE_NAME;

/// How often a Watch stream looks at the database.
const WATCH_INTERVAL: Duration = Duration::from_secs(1);

pub struct DatabaseHealth {
    repository: Repository,
}

pub fn server(repository: Repository) -> HealthServer<DatabaseHealth> {
    HealthServer::new(DatabaseHealth { repository })
}

fn is_known(service: &str) -> bool {
    service.is_empty() || service == SERVICE_NAME
}

impl DatabaseHealth {
    async fn status(&self) -> ServingStatus {
        if self.repository.is_healthy().await {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        }
    }
}

fn response(status: ServingStatus) -> HealthCheckResponse {
    HealthCheckResponse {
        status: status as i32,
    }
}

#[tonic::async_trait]
impl Health for DatabaseHealth {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        if !is_known(&request.get_ref().service) {
            return Err(Status::not_found("unknown service"));
        }
        Ok(Response::new(response(self.status().await)))
    }

    type WatchStream = ReceiverStream<Result<HealthCheckResponse, Status>>;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let (sender, receiver) = mpsc::channel(1);
        let known = is_known(&request.get_ref().service);
        let health = DatabaseHealth {
            repository: self.repository.clone(),
        };
        tokio::spawn(async move {
            if !known {
                // The protocol keeps the call open for an unknown service; it stays unknown here.
                let _ = sender
                    .send(Ok(response(ServingStatus::ServiceUnknown)))
                    .await;
                sender.closed().await;
                return;
            }
            let mut last = None;
            loop {
                let status = health.status().await;
                if last != Some(status) {
                    if sender.send(Ok(response(status))).await.is_err() {
                        return;
                    }
                    last = Some(status);
                }
                tokio::select! {
                    _ = sender.closed() => return,
                    _ = tokio::time::sleep(WATCH_INTERVAL) => {}
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }
}
