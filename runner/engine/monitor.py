"""A Pulumi mock monitor whose registrations are real: each custom resource goes to the Engine, with the
options the engine honours (dependencies, delete_before_replace, retain_on_delete) and a refusal for every
other option."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pulumi.runtime import mocks, rpc
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from runner.engine.errors import EngineError

if TYPE_CHECKING:
    from runner.engine.core import Engine

# Resource options the in-process engine cannot honour; a program that sets one gets an EngineError.
UNSUPPORTED_OPTIONS = ("protect", "ignoreChanges", "replaceOnChanges", "importId",
                       "additionalSecretOutputs", "deletedWith", "remote", "aliasURNs", "aliases")


def _type_alias_only(alias: Any) -> bool:
    """An alias spec that renames the type only (as provider SDKs declare for old tokens), nothing else."""
    spec = alias.spec
    return not (spec.name or spec.project or spec.stack or spec.parentUrn or spec.noParent)


class _NoCalls(mocks.Mocks):
    def new_resource(self, args):
        raise EngineError(f"{args.typ} {args.name}: reading existing resources (get) is not supported")

    def call(self, args):
        raise EngineError(f"{args.token}: provider functions (invokes) are not supported by the in-process engine")


class RealizingMonitor(mocks.MockMonitor):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.errors: list[BaseException] = []
        super().__init__(_NoCalls())

    def _check_options(self, request) -> None:
        for option in UNSUPPORTED_OPTIONS:
            value = getattr(request, option, None)
            if option == "aliases" and all(_type_alias_only(alias) for alias in value or ()):
                continue  # provider SDKs declare their old type tokens; there is no old state to move
            if value:
                raise EngineError(f"{request.type} {request.name}: resource option {option} is not supported by "
                                  f"the in-process engine; install the Pulumi CLI to use it")
        if request.HasField("customTimeouts") and any(
                (request.customTimeouts.create, request.customTimeouts.update, request.customTimeouts.delete)):
            raise EngineError(f"{request.type} {request.name}: custom timeouts are not supported by the "
                              f"in-process engine")

    def RegisterResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _ensure_event_loop()
        try:
            self._check_options(request)
            inputs = rpc.deserialize_properties(request.object)
            # Everything this resource waits for: explicit depends_on and the resources its inputs came from.
            dependencies = set(request.dependencies)
            for deps in request.propertyDependencies.values():
                dependencies.update(deps.urns)
            resource_id, state = self.engine.register(
                urn, request.type, request.name, inputs, bool(request.custom),
                dependencies=sorted(dependencies), delete_before_replace=bool(request.deleteBeforeReplace),
                retain_on_delete=bool(request.retainOnDelete))
        except BaseException as error:
            self.errors.append(error)
            raise
        obj_proto = _sync_await(rpc.serialize_properties(state, {}))
        self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, resource_id, state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=obj_proto)
