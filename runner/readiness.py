"""Real readiness: an HTTP health call, a grpc.health.v1 Check, or a database query — never a TCP connect."""
from __future__ import annotations

import time
from collections.abc import Callable

import grpc
import httpx
import psycopg2

from perflab.catalogue import Service
from runner import grpcweb


def http_ready(url: str) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            return httpx.get(url, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False
    return probe


def grpc_ready(target: str, service_name: str = "") -> Callable[[], bool]:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    def probe() -> bool:
        with grpc.insecure_channel(target) as channel:
            try:
                response = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=service_name), timeout=2.0)
            except grpc.RpcError:
                return False
        return response.status == health_pb2.HealthCheckResponse.SERVING
    return probe


def grpcweb_ready(base_url: str) -> Callable[[], bool]:
    """grpc.health.v1 Check over gRPC-Web: an empty request frame in, SERVING and grpc-status 0 out."""
    def probe() -> bool:
        try:
            response = httpx.post(f"{base_url}/grpc.health.v1.Health/Check", content=grpcweb.encode_frame(b""),
                                  headers={"Content-Type": "application/grpc-web+proto"}, timeout=5.0)
        except httpx.HTTPError:
            return False
        try:
            messages, trailers = grpcweb.decode_response(response.content)
        except ValueError:  # a truncated frame or a non-ASCII trailer block
            return False
        serving = messages[-1:] == [b"\x08\x01"]  # HealthCheckResponse{status: SERVING}
        return response.status_code == 200 and serving and trailers.get("grpc-status") == "0"
    return probe


def database_ready(dsn: str) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            with psycopg2.connect(dsn, connect_timeout=2) as conn, conn.cursor() as cursor:
                cursor.execute("SELECT 1 FROM events LIMIT 1")
            return True
        except psycopg2.Error:
            return False
    return probe


def service_probe(service: Service, host: str = "127.0.0.1") -> Callable[[], bool]:
    if service.protocol == "grpc":
        return grpc_ready(f"{host}:{service.port}")
    if service.protocol == "grpcweb":
        return grpcweb_ready(f"http://{host}:{service.port}")
    return http_ready(f"http://{host}:{service.port}/api/v1/events/health")


def wait(probe: Callable[[], bool], timeout: float, interval: float = 0.05,
         alive: Callable[[], str | None] = lambda: None) -> float:
    """Poll `probe` until it passes; `alive` returns a reason when the thing being waited for has died."""
    start = time.monotonic()
    while not probe():
        reason = alive()
        if reason:
            raise TimeoutError(reason)
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"not ready after {timeout:.0f} s")
        time.sleep(interval)
    return time.monotonic() - start
