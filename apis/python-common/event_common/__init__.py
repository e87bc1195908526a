"""What the lab's Python APIs (python-rest, python-grpc) share: the event contract of
contract/CONTRACT.md — settings from the environment, validation with the exact messages, the canonical
document, and the repository that runs the contract's two statements in one transaction.

Both transports end in the same `Event`: REST bodies through `parse_event` / `parse_bulk` /
`event_from_json`, gRPC messages through `event_from_proto`.
"""
