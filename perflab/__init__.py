"""The lab's shared core: the names every part agrees on, and nothing that acts.

- `catalogue`: the one list of services (APIs, Lambdas, databases, tools).
- `settings`: a stack's configuration (`Pulumi.<stack>.yaml`), typed the same whether the Pulumi CLI stored
  a value as text or not.
- `names`: container names and labels.
- `errors`: the one error base class every command maps to a message and an exit code.
- `durations`: Go durations (the Docker provider's canonical form) and RFC 3339 times.

The Pulumi program (`stacks/`) and the orchestration library (`runner/`) both import this package; it
imports neither, runs no command and touches no Docker object.
"""
