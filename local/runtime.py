"""Runs the template's functions locally the way Lambda does, without Docker.

Each function runs from its `sam build` folder in the Lambda Runtime Interface Emulator that
ships inside the aws-sam-cli package, with `awslambdaric` (the real Python runtime client) in
the runtime virtualenv of `local.runtime_env`, the function's folder and its layers'
`python/` folders on PYTHONPATH (as /var/task and /opt/python are in Lambda), and Lambda's
environment variables. An emulator initialises the function on its first invocation (a cold
start, logged by the emulator as `INIT REPORT`) and reuses it after that.

`FunctionPool` keeps up to N emulators per function, started when first needed and then kept
warm; an invocation that finds them all busy waits for one, as Lambda would scale out.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import json
import os
import platform
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from local import template as tpl

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
DEFAULT_TABLE_NAME = "ChatSessions"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
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
ERROR_KEYS = frozenset({"errorType", "errorMessage", "stackTrace", "requestId", "cause"})
# Sink for the functions' own output lines: (function name, line).
LogSink = Callable[[str, str], None]


class RuntimeSetupError(RuntimeError):
    """The build output, the emulator or the template is not usable; the message says why."""


def emulator_binary() -> Path:
    """The aws-lambda-rie binary shipped in the installed aws-sam-cli, for this machine."""
    machine = platform.machine().lower()
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine
    )
    if arch is None:
        raise RuntimeSetupError(f"no Lambda Runtime Interface Emulator for {machine}")
    spec = importlib.util.find_spec("samcli")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeSetupError("aws-sam-cli is not installed (run `make venv`)")
    package = Path(next(iter(spec.submodule_search_locations)))
    binary = package / "local" / "rapid" / f"aws-lambda-rie-{arch}"
    if not binary.is_file():
        raise RuntimeSetupError(f"the emulator is missing from aws-sam-cli: {binary}")
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | 0o111)
    return binary


# --- the template: what each function needs to run -------------------------------------------


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


class Resolver:
    """Resolves the intrinsics that appear in function properties, as `sam local` would."""

    def __init__(self, template: Mapping[str, Any], table_name: str) -> None:
        self.conditions: Mapping[str, Any] = template.get("Conditions") or {}
        self.parameters = {
            name: str(spec.get("Default", ""))
            for name, spec in (template.get("Parameters") or {}).items()
        }
        self.table_name = table_name
        self.pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::StackName": "local",
            "AWS::URLSuffix": "amazonaws.com",
        }

    def ref(self, name: str) -> str:
        if name == tpl.TABLE_RESOURCE:
            return self.table_name
        if name in self.parameters:
            return self.parameters[name]
        return self.pseudo.get(name, name)

    def get_att(self, resource: str, attribute: str) -> str:
        if resource == tpl.TABLE_RESOURCE and attribute == "Arn":
            return f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{self.table_name}"
        return f"{resource}.{attribute}"

    def sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return self.value(variables[name])
            if "." in name:
                return self.get_att(*name.split(".", 1))
            return self.ref(name)

        return re.sub(r"\$\{([^}!][^}]*)\}", replace, text)

    def value(self, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(str(arg))
            if key == "Fn::GetAtt":
                parts = arg if isinstance(arg, list) else str(arg).split(".", 1)
                return self.get_att(str(parts[0]), str(parts[1]))
            if key == "Fn::Sub":
                if isinstance(arg, list):
                    return self.sub(str(arg[0]), arg[1] if len(arg) > 1 else {})
                return self.sub(str(arg), {})
            if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
                return str(arg[0]).join(self.value(item) for item in arg[1])
            if key == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
                return self.value(arg[1] if self.condition(str(arg[0])) else arg[2])
        # Like `sam local`: an intrinsic it cannot resolve becomes an empty string.
        return ""

    def condition(self, name: str) -> bool:
        """A named condition of the template, evaluated with the parameters' defaults."""
        if name not in self.conditions:
            raise RuntimeSetupError(f"the template has no condition {name!r}")
        return self.truth(self.conditions[name])

    def truth(self, node: Any) -> bool:
        if isinstance(node, dict) and len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Fn::Equals" and isinstance(arg, list) and len(arg) == 2:
                return self.value(arg[0]) == self.value(arg[1])
            if key == "Fn::Not" and isinstance(arg, list) and len(arg) == 1:
                return not self.truth(arg[0])
            if key == "Fn::And" and isinstance(arg, list):
                return all(self.truth(item) for item in arg)
            if key == "Fn::Or" and isinstance(arg, list):
                return any(self.truth(item) for item in arg)
            if key == "Condition":
                return self.condition(str(arg))
        raise RuntimeSetupError(f"cannot evaluate the condition {node!r}")


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
    defaults = (template.get("Globals") or {}).get("Function") or {}
    specs: dict[str, FunctionSpec] = {}
    missing: list[str] = []
    for name, props in tpl.functions(template_path).items():

        def prop(key: str, fallback: Any, props: Mapping[str, Any] = props) -> Any:
            return props.get(key, defaults.get(key, fallback))

        variables: dict[str, str] = {}
        for source in (defaults, props):
            declared = ((source.get("Environment") or {}).get("Variables")) or {}
            variables.update({key: resolver.value(val) for key, val in declared.items()})
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
            memory_mb=int(float(resolver.value(prop("MemorySize", 128)))),
            timeout_s=int(float(resolver.value(prop("Timeout", 3)))),
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


# --- one emulator --------------------------------------------------------------------------------


@dataclass
class _Record:
    """What the emulator logged about one invocation."""

    cold: bool = False
    init_ms: float | None = None
    duration_ms: float | None = None
    done: bool = False


@dataclass(frozen=True)
class InvokeResult:
    function: str
    emulator: str
    status: int  # the emulator's HTTP status
    payload: bytes
    error_type: str | None  # set when the function failed (Lambda's errorType)
    cold: bool
    init_ms: float | None
    duration_ms: float | None
    wall_ms: float

    @property
    def failed(self) -> bool:
        return self.error_type is not None

    def describe(self) -> str:
        """`cold (init 512 ms)` or `warm`, for log lines."""
        if self.cold:
            init = f" (init {self.init_ms:.0f} ms)" if self.init_ms is not None else ""
            return "cold" + init
        return "warm"


class EmulatorError(RuntimeError):
    """The emulator process itself failed (not the function)."""


_INIT_START = re.compile(r"\(rapid\) INIT START\(")
_INIT_REPORT = re.compile(r"\(rapid\) INIT REPORT\(durationMs: ([0-9.]+)\)")
_RTDONE = re.compile(r"\(rapid\) INVOKE RTDONE\(.*duration: ([0-9.]+)ms\)")
_RESET = re.compile(r"\(rapid\) Reset initiated: ")
_BOOKKEEPING = re.compile(r"^(START|END|REPORT) RequestId: |\(rapid\) ")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _error_type(status: int, payload: bytes) -> str | None:
    """Lambda's errorType if the emulator's answer is a failed invocation, else None."""
    try:
        document = json.loads(payload)
    except ValueError:
        text = payload.decode("utf-8", "replace")
        if "Task timed out" in text:
            return "Sandbox.Timedout"
        return "Runtime.InvalidResponse" if status == 200 else "Runtime.Unknown"
    is_error = (
        isinstance(document, dict)
        and isinstance(document.get("errorType"), str)
        and "errorMessage" in document
        and document.keys() <= ERROR_KEYS
    )
    if is_error:
        assert isinstance(document, dict)
        return str(document["errorType"])
    return None if status == 200 else "Runtime.Unknown"


class Emulator:
    """One aws-lambda-rie process (and the runtime it starts) for one function."""

    def __init__(
        self,
        spec: FunctionSpec,
        label: str,
        binary: Path,
        python: Path,
        environment: Mapping[str, str],
        log_sink: LogSink | None = None,
    ) -> None:
        self.spec = spec
        self.label = label
        self._binary = binary
        self._python = python
        self._environment = dict(environment)
        self._log_sink = log_sink
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._changed = threading.Condition()
        # The invocation under way; the emulator's own "(rapid)" lines are attributed to it.
        self._current: _Record | None = None
        self._output: list[str] = []  # the first lines, for the error message if it cannot start
        self._capturing = True
        self.port = 0

    # lifecycle

    def start(self, attempts: int = 3, timeout: float = 10.0) -> None:
        last = ""
        for _ in range(attempts):
            self.port, api_port = free_port(), free_port()
            while api_port == self.port:
                api_port = free_port()
            command = [
                str(self._binary),
                "--log-level",
                "info",
                "--runtime-interface-emulator-address",
                f"127.0.0.1:{self.port}",
                "--runtime-api-address",
                f"127.0.0.1:{api_port}",
                str(self._python),
                "-m",
                "awslambdaric",
                self.spec.handler,
            ]
            # Own session: Ctrl-C in the terminal reaches only the server, which then ends
            # each emulator and the runtime it started (see close()).
            self._process = subprocess.Popen(
                command,
                cwd=self.spec.code_dir,
                env=self._environment,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            assert self._process.stdout is not None
            self._reader = threading.Thread(
                target=self._read, args=(self._process.stdout,), daemon=True
            )
            self._reader.start()
            if self._wait_listening(timeout):
                with self._changed:
                    self._capturing = False
                    self._output = []
                return
            last = "\n".join(self._output[-10:])
            self.close()
        raise EmulatorError(f"the emulator for {self.spec.name} did not start:\n{last}")

    def _wait_listening(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.01)
        return False

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def close(self, timeout: float = 3.0) -> None:
        """Stop the emulator and the runtime it started (in its own group, same session)."""
        process = self._process
        if process is None:
            return
        session = process.pid  # start_new_session: the emulator leads its session
        _signal_group(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
        deadline = time.monotonic() + timeout
        while session_members(session) and time.monotonic() < deadline:
            time.sleep(0.02)
        for pid in session_members(session):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if process.poll() is None:
            process.kill()
            process.wait()
        if self._reader is not None:
            self._reader.join(timeout)
        if process.stdout is not None:
            process.stdout.close()

    # the emulator's log

    def _read(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self._changed:
                if self._capturing and len(self._output) < 200:
                    self._output.append(line)
                self._parse(line)
                self._changed.notify_all()
            if self._log_sink is not None and line and not _BOOKKEEPING.search(line):
                self._log_sink(self.spec.name, line)
        with self._changed:
            self._changed.notify_all()

    def _parse(self, line: str) -> None:
        # Only "(rapid)" lines: they are written in order, while START/END/REPORT lines go
        # through the emulator's asynchronous log stream and may arrive after them.
        record = self._current
        if record is None:
            return
        if _INIT_START.search(line):
            record.cold = True
        elif match := _INIT_REPORT.search(line):
            record.init_ms = (record.init_ms or 0.0) + float(match.group(1))
        elif match := _RTDONE.search(line):
            record.duration_ms = float(match.group(1))
            record.done = True
        elif _RESET.search(line):
            record.done = True

    # invoking

    def invoke(self, payload: bytes) -> InvokeResult:
        """Invoke the function once; the caller makes sure no other invocation is running."""
        if not self.alive:
            raise EmulatorError(f"the emulator {self.label} is not running")
        record = _Record()
        with self._changed:
            self._current = record
        started = time.perf_counter()
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=self.spec.timeout_s + 10
        )
        try:
            connection.request(
                "POST", INVOKE_PATH, body=payload, headers={"Content-Type": "application/json"}
            )
            response = connection.getresponse()
            status, body = response.status, response.read()
        except (OSError, http.client.HTTPException) as error:
            # The emulator enforces the function's timeout; silence past it means it is stuck.
            self.close()
            raise EmulatorError(f"the emulator {self.label} failed: {error}") from error
        finally:
            connection.close()
        wall_ms = (time.perf_counter() - started) * 1000
        self._wait_done(record, timeout=1.0)
        return InvokeResult(
            function=self.spec.name,
            emulator=self.label,
            status=status,
            payload=body,
            error_type=_error_type(status, body),
            cold=record.cold,
            init_ms=record.init_ms,
            duration_ms=record.duration_ms,
            wall_ms=wall_ms,
        )

    def _wait_done(self, record: _Record, timeout: float) -> None:
        """The emulator logs an invocation's figures around the time it answers: wait briefly."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not record.done and self.alive:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            self._current = None


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def session_members(session: int) -> list[int]:
    """Live processes of a session (the emulator puts its runtime in a group of its own)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the command name, which may itself hold spaces and parentheses.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == session and fields[0] != "Z":
            members.append(int(entry.name))
    return members


# --- a pool per function --------------------------------------------------------------------------


@dataclass
class FunctionPool:
    """Up to `size` warm emulators for one function; callers wait when all are busy."""

    spec: FunctionSpec
    size: int
    binary: Path
    python: Path
    environment: Mapping[str, str]
    log_sink: LogSink | None = None
    _idle: list[Emulator] = field(default_factory=list)
    _all: list[Emulator] = field(default_factory=list)
    _starting: int = 0
    _started: int = 0
    _closed: bool = False
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def _acquire(self) -> Emulator:
        with self._changed:
            while True:
                if self._closed:
                    raise EmulatorError("the local runtime is shutting down")
                if self._idle:
                    # Most recently used first, like Lambda reusing the warmest environment.
                    return self._idle.pop()
                if len(self._all) + self._starting < self.size:
                    self._starting += 1
                    self._started += 1
                    label = f"{self.spec.name}#{self._started}"
                    break
                self._changed.wait()
        emulator = Emulator(
            self.spec, label, self.binary, self.python, self.environment, self.log_sink
        )
        try:
            emulator.start()
        except BaseException:
            with self._changed:
                self._starting -= 1
                self._changed.notify()
            raise
        with self._changed:
            self._starting -= 1
            if self._closed:
                emulator.close()
                raise EmulatorError("the local runtime is shutting down")
            self._all.append(emulator)
        return emulator

    def _release(self, emulator: Emulator) -> None:
        with self._changed:
            if emulator.alive and not self._closed:
                self._idle.append(emulator)
            elif emulator in self._all:
                self._all.remove(emulator)
                emulator.close()
            self._changed.notify()

    def invoke(self, payload: bytes) -> InvokeResult:
        emulator = self._acquire()
        try:
            return emulator.invoke(payload)
        finally:
            self._release(emulator)

    @property
    def pids(self) -> list[int]:
        with self._changed:
            return [pid for emulator in self._all if (pid := emulator.pid) is not None]

    def close(self) -> None:
        with self._changed:
            self._closed = True
            emulators = list(self._all)
            self._all.clear()
            self._idle.clear()
            self._changed.notify_all()
        for emulator in emulators:
            emulator.close()


class LocalRuntime:
    """A pool per function of the template: `invoke(name, event)`."""

    def __init__(
        self,
        specs: Mapping[str, FunctionSpec],
        python: Path,
        *,
        dynamodb_url: str | None,
        concurrency: int = 2,
        log_sink: LogSink | None = None,
        binary: Path | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        binary = binary if binary is not None else emulator_binary()
        self.pools = {
            name: FunctionPool(
                spec,
                concurrency,
                binary,
                python,
                emulator_environment(spec, python, dynamodb_url),
                log_sink,
            )
            for name, spec in specs.items()
        }

    def invoke(self, function: str, event: Any) -> InvokeResult:
        payload = event if isinstance(event, bytes) else json.dumps(event).encode()
        return self.pools[function].invoke(payload)

    def close(self) -> None:
        # Emulators stop in parallel: each takes a moment to end its runtime.
        threads = [threading.Thread(target=pool.close) for pool in self.pools.values()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
