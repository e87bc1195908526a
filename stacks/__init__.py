"""The lab's Pulumi program, one ComponentResource per concern; `__main__.py` only reads config and composes.

- `settings`: the stack's configuration (`Pulumi.<stack>.yaml`, read through `pulumi.Config`).
- `network`, `images`, `service`, `database`: the pieces of the local Docker stack.
- `local`: composes them into the local stack and shapes the outputs the runner reads.
"""
