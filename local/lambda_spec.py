"""What each function of the template needs to run locally, read from `template.yaml`.

`function_specs` resolves every function's properties (handler, runtime, layers, MemorySize,
Timeout, environment) against the `sam build` output, with the intrinsics resolved as
`sam local` would; `emulator_environment` is what the function's process sees, as in Lambda.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local import template as tpl
from local.template import REGION, Resolver, TemplateError

DEFAULT_TABLE_NAME = "ChatSessions"
# Settings of api.md that `make run`'s environment overrides (only where the template sets them).
OVERRIDABLE = frozenset(
    {
        "TABLE_NAME",
        "LOG_LEVEL",
        "SESSION_TIMEOUT_MINUTES",
        "SESSION_MAX_LIFETIME_HOURS",
        "SESSION_GRACE_HOURS",
        "SESSION_CLEANUP_INTERVAL_MINUTES",
    }
)
OVERRIDABLE_PREFIXES = ("MAX_",)


class RuntimeSetupError(RuntimeError):
    """The build output, the emulator or the template is not usable; the message says why."""


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    code_dir: Path
    layer_dirs: tuple[Path, ...]
    handler: str
    runtime: str
    memory_mb: int
    timeout_s: int
    environment: Mapping[str, str]


def overridable(name: str) -> bool:
    """Whether `make run`'s environment may set this function variable (api.md's settings)."""
    return name in OVERRIDABLE or name.startswith(OVERRIDABLE_PREFIXES)


def function_specs(
    build_dir: Path,
    *,
    table_name: str = DEFAULT_TABLE_NAME,
    environ: Mapping[str, str] | None = None,
    template_path: Path = tpl.TEMPLATE,
) -> dict[str, FunctionSpec]:
    """Every function of the template, as built into `build_dir` by `sam build`.

    Environment: the template's Globals and the function's own variables with intrinsics
    resolved (parameters take their defaults, the table's Ref is `table_name`), then the
    api.md settings found in `environ` (default: this process's environment).
    """
    environ = os.environ if environ is None else environ
    build_dir = build_dir.resolve()  # the emulators run elsewhere: paths must be absolute
    template = tpl.load_template(template_path)
    resolver = Resolver(template, table_name)

    def value(node: Any) -> str:
        try:
            return resolver.value(node)
        except TemplateError as error:
            raise RuntimeSetupError(str(error)) from error

    defaults = (template.get("Globals") or {}).get("Function") or {}
    specs: dict[str, FunctionSpec] = {}
    missing: list[str] = []
    for name, props in tpl.functions(template_path).items():

        def prop(key: str, fallback: Any, props: Mapping[str, Any] = props) -> Any:
            return props.get(key, defaults.get(key, fallback))

        variables: dict[str, str] = {}
        for source in (defaults, props):
            declared = ((source.get("Environment") or {}).get("Variables")) or {}
            variables.update({key: value(val) for key, val in declared.items()})
        for key in variables:
            if overridable(key) and key in environ:
                variables[key] = environ[key]
        if "TABLE_NAME" in variables:
            variables["TABLE_NAME"] = table_name  # the table the local server created

        layers: list[Path] = []
        for layer in list(defaults.get("Layers") or []) + list(props.get("Layers") or []):
            if not (isinstance(layer, dict) and "Ref" in layer):
                raise RuntimeSetupError(
                    f"{name}: layer {layer!r} is not a layer of this template; "
                    "only layers built by `sam build` can run locally"
                )
            path = build_dir / str(layer["Ref"])
            if path not in layers:
                layers.append(path)

        handler = str(prop("Handler", "app.lambda_handler"))
        code_dir = build_dir / name
        module_file = code_dir / (handler.rsplit(".", 1)[0].replace(".", "/") + ".py")
        if not module_file.is_file():
            missing.append(str(module_file))
        missing.extend(str(layer / "python") for layer in layers if not (layer / "python").is_dir())
        specs[name] = FunctionSpec(
            name=name,
            code_dir=code_dir,
            layer_dirs=tuple(layers),
            handler=handler,
            runtime=str(prop("Runtime", "python3.11")),
            memory_mb=int(float(value(prop("MemorySize", 128)))),
            timeout_s=int(float(value(prop("Timeout", 3)))),
            environment=variables,
        )
    if missing:
        raise RuntimeSetupError(
            "the `sam build` output is missing or stale: "
            + ", ".join(sorted(set(missing)))
            + " not found. Run `make build` (or `sam build`) first."
        )
    return specs


def emulator_environment(
    spec: FunctionSpec, python: Path, dynamodb_url: str | None
) -> dict[str, str]:
    """What the function's process sees: Lambda's variables, then the function's own."""
    venv = python.parent.parent
    site_packages = sorted(venv.glob("lib/python3.*/site-packages"))
    version = spec.runtime.removeprefix("python")
    paths = [str(spec.code_dir)]
    for layer in spec.layer_dirs:
        # Lambda puts both /opt/python/lib/pythonX.Y/site-packages and /opt/python on sys.path.
        paths += [str(layer / f"python/lib/python{version}/site-packages"), str(layer / "python")]
    env = {
        "PATH": f"{python.parent}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONPATH": ":".join(paths),
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "LAMBDA_RUNTIME_DIR": str(site_packages[0]) if site_packages else str(venv),
        "_HANDLER": spec.handler,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout_s),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        # Nothing from the developer's ~/.aws may change how the function behaves.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    env.update(spec.environment)
    if dynamodb_url:
        # After the template's variables: its empty placeholder must not hide the local endpoint.
        env["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb_url
    return env
