"""Runner profiles: where the Beam-based components run, chosen by one setting.

The pipeline definition never changes between a laptop and a cluster; a profile only produces Beam
pipeline arguments, and refuses to start when a setting it needs is missing.
"""
import dataclasses
import os
import socket
import urllib.parse
from typing import Dict, Mapping, Optional, Sequence, Tuple


class ProfileError(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class Profile:
    name: str
    description: str
    required: Tuple[str, ...]  # settings the profile cannot run without
    template: Tuple[str, ...]  # Beam args; "{setting}" is filled from the settings
    optional: Tuple[Tuple[str, str], ...] = ()  # (setting, default)
    # Beam args that run the workers in the pipeline's own image ("{image}") when compiled for
    # Kubeflow/Vertex: Beam's stock SDK image has neither TFX nor this project's code.
    worker_image: Tuple[str, ...] = ()

    def beam_args(self, settings: Mapping[str, str]) -> Tuple[str, ...]:
        settings = {**dict(self.optional), **settings}
        known = [*self.required, *dict(self.optional)]
        unknown = sorted(set(settings) - set(known))
        if unknown:  # first: a misspelt setting is also why a required one seems missing
            raise ProfileError(f"profile '{self.name}' has no setting(s) {', '.join(unknown)}; "
                               f"its settings: {', '.join(known) or 'none'}")
        missing = [key for key in self.required if not settings.get(key)]
        if missing:
            given = ", ".join(f"{key}=..." for key in missing)
            raise ProfileError(
                f"profile '{self.name}' needs the setting(s) {', '.join(missing)} "
                f"(pass --profile-setting {given.replace(', ', ' --profile-setting ')})"
            )
        return tuple(arg.format(**settings) for arg in self.template)


# Unless the Beam args already name the workers' dependencies, every TFX Beam executor copies the
# installed tfx package and builds an sdist of it for the workers (tfx/utils/dependency_utils.py):
# seconds per Beam component (docs/design.md), and a leftover temp folder each time. Local runners
# run in this interpreter's environment and stage nothing (only Beam's stager, used by remote runners,
# reads the flag), so the local profiles name the lock as the workers' requirements: true, and unused.
# It is a setting (default: this checkout's lock) because a compiled spec must name the lock where
# its pods find it, in the image (pipeline/kubeflow.py), not a path of the compiling machine.
REQUIREMENTS = "requirements_file"
LOCAL_LOCK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "requirements.lock")
_LOCAL_REQUIREMENTS = "--requirements_file={%s}" % REQUIREMENTS

PROFILES: Dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("local", "in-process Beam DirectRunner (fastest on one machine for small data)", (),
                ("--runner=DirectRunner", "--direct_running_mode=in_memory", "--direct_num_workers=1",
                 _LOCAL_REQUIREMENTS), ((REQUIREMENTS, LOCAL_LOCK),)),
        Profile("local-multiprocess", "DirectRunner with one worker process per core", (),
                ("--runner=DirectRunner", "--direct_running_mode=multi_processing",
                 "--direct_num_workers=0", _LOCAL_REQUIREMENTS),  # 0: the cores where it runs (Beam)
                ((REQUIREMENTS, LOCAL_LOCK),)),
        Profile("dataflow", "Google Cloud Dataflow", ("project", "region", "temp_location"),
                ("--runner=DataflowRunner", "--project={project}", "--region={region}",
                 "--temp_location={temp_location}"), worker_image=("--sdk_container_image={image}",)),
        # `tfxpipe cluster up` starts all three on this machine (pipeline/flink_cluster.py); SDK
        # workers come from an external pool (EXTERNAL), so no Docker.
        Profile("flink", "Apache Flink cluster through Beam's Flink job server", ("flink_master",),
                ("--runner=FlinkRunner", "--flink_master={flink_master}",
                 "--job_endpoint={job_endpoint}", "--environment_type=EXTERNAL",
                 "--environment_config={worker_pool}", "--parallelism={parallelism}"),
                (("job_endpoint", "localhost:8099"), ("worker_pool", "localhost:50000"),
                 ("parallelism", "2"))),
        Profile("spark", "Apache Spark cluster through Beam's Spark job server", ("spark_master_url",),
                ("--runner=SparkRunner", "--spark_master_url={spark_master_url}",
                 "--environment_type=DOCKER"),
                # environment_config is the image Beam's Docker environment starts; TFX takes only
                # sdk_container_image as naming the workers' dependencies (else it stages its own sdist)
                worker_image=("--environment_config={image}", "--sdk_container_image={image}")),
    )
}


AUTO = "auto"
LOCAL_PROFILES = ("local", "local-multiprocess")  # Beam on the machine the component runs on
# Measured on 2 cores (benchmarks/compare_profiles.py): worker processes lose below ~10 MB of CSV
# (start-up and serialization cost more than they save) and win from ~20 MB (150k rows: -11 %).
AUTO_MULTIPROCESS_BYTES = 8 << 20


def choose_local(data_bytes: int) -> str:
    """The `auto` profile: in-process for small data, worker processes for larger."""
    local, multiprocess = LOCAL_PROFILES
    return multiprocess if data_bytes >= AUTO_MULTIPROCESS_BYTES else local


def beam_args(profile: str, settings: Mapping[str, str]) -> Tuple[str, ...]:
    if profile == AUTO:
        raise ProfileError("profile 'auto' is resolved from the data size before Beam args are made")
    if profile not in PROFILES:
        raise ProfileError(
            f"unknown profile '{profile}'; choose one of {AUTO}, {', '.join(PROFILES)}")
    return PROFILES[profile].beam_args(settings)


# Beam args by which a user names the workers' dependencies: compile then adds none, and TFX adds
# no package of its own (tfx/utils/dependency_utils.py).
_WORKER_DEPENDENCY_ARGS = ("--sdk_container_image", "--worker_harness_container_image", "--setup_file",
                           "--requirements_file", "--extra_package")


def worker_image_args(profile: str, image: str, given: Tuple[str, ...] = ()) -> Tuple[str, ...]:
    """For a pipeline compiled to run in `image`: the Beam args that start the profile's workers
    from that image too (the Dockerfile adds Beam's worker boot), so that they import the same TFX
    and this project's preprocessing and model code; none where `given` Beam args already name
    the workers' dependencies, or where the workers are not containers Beam starts (local profiles,
    flink's external worker pool)."""
    if profile not in PROFILES or any(arg.startswith(_WORKER_DEPENDENCY_ARGS) for arg in given):
        return ()
    own = next((arg.partition("=")[2] for arg in given if arg.startswith("--environment_config=")), None)
    if own is not None:  # spark's workers in an image of the user's: TFX is to stage nothing over it
        return (f"--sdk_container_image={own}",)
    return tuple(arg.format(image=image) for arg in PROFILES[profile].worker_image)


LOOPBACK = ("localhost", "127.0.0.1", "::1")


def is_loopback(address: str) -> bool:
    """Whether `address` (`host:port`, `http://host:port`, `[::1]:port`) is this machine's."""
    server = _host_and_port(address)
    return server is not None and server[0] in LOOPBACK


def _host_and_port(address: str) -> Optional[Tuple[str, int]]:
    """(host, port) of `host:port` or `http://host:port`; None for Beam's `[auto]` or `[local]`
    (a Flink it embeds) and anything else without both."""
    try:
        parts = urllib.parse.urlsplit(address if "://" in address else f"//{address}")
        return (parts.hostname, parts.port) if parts.hostname and parts.port else None
    except ValueError:  # a port that is not a number
        return None


def check_runs_from_here(profile: str, beam_args: Sequence[str] = ()) -> None:
    """Before a local `run` (not `compile`): ProfileError for `dataflow`, whose workers in Google
    Cloud cannot read this machine's data or write its work dir (they would stage the job for
    minutes, then fail); and for `spark` unless `beam_args` name the workers' image or another
    environment (LOOPBACK): its workers are Docker containers, of Beam's stock SDK image unless told,
    which has neither TFX nor this project's code (`compile --image` names the pipeline image)."""
    if profile == "dataflow":
        raise ProfileError("profile 'dataflow' runs Beam on workers in Google Cloud, which cannot read this machine's "
                           "files: compile the pipeline for Vertex AI with gs:// paths instead (`tfxpipe compile "
                           "--profile dataflow ...`, docs/operations.md#clusters), or run here with a local profile")
    if profile == "spark" and not any(arg.startswith("--environment_config=") or
                                      (arg.startswith("--environment_type=") and arg != "--environment_type=DOCKER")
                                      for arg in beam_args):  # LOOPBACK: workers in this process
        raise ProfileError("profile 'spark' starts Beam's workers as Docker containers, of Beam's stock SDK image "
                           "unless told, which has neither TFX nor this project's code: name the pipeline image "
                           "built from the Dockerfile with --beam-arg=--environment_config=IMAGE "
                           "--beam-arg=--sdk_container_image=IMAGE, or compile with `tfxpipe compile --image IMAGE "
                           "--profile spark` (docs/operations.md#clusters)")


def check_servers(profile: str, settings: Mapping[str, str], timeout: float = 2.0) -> None:
    """Before a run on `flink`: ProfileError naming the Flink master, Beam's job server or the SDK
    worker pool that takes no connection, where the first component would wait 60 s for the job
    server, then fail with Beam's bare `FutureTimeoutError` (a worker pool gone: with a bare
    "Connection refused"). The master is checked only at a loopback address (`cluster up`'s), the
    pool only then (a local cluster's): a job server reached through a tunnel (`kubectl
    port-forward`) reaches them by names only its cluster resolves."""
    if profile != "flink":
        return
    settings = {**dict(PROFILES[profile].optional), **settings}
    local_cluster = is_loopback(settings["flink_master"])
    for setting in ("flink_master", "job_endpoint", "worker_pool"):
        server = _host_and_port(settings[setting])
        # the master and the SDK worker pool are reached from the cluster: checked where that is here
        if setting != "job_endpoint" and not (local_cluster and is_loopback(settings[setting])):
            continue
        try:
            if server is not None:
                socket.create_connection(server, timeout=timeout).close()
        except OSError as error:
            raise ProfileError(
                f"profile 'flink': {setting} {settings[setting]} does not answer ({error.strerror or error}): "
                "`tfxpipe cluster up` starts a Flink cluster and its job server on this machine; for "
                f"another, give its address with --profile-setting {setting}=HOST:PORT") from None


def parse_settings(pairs) -> Dict[str, str]:
    """['project=p', 'region=r'] -> {'project': 'p', 'region': 'r'}."""
    settings = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ProfileError(f"profile setting {pair!r} is not KEY=VALUE")
        settings[key] = value
    return settings
