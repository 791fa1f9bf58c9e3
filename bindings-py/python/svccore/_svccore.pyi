# Type stubs of the native module (bindings-py/src). `make test` runs mypy's stubtest to check
# that they match the built module; the full docstrings with examples are on the runtime objects.

import os
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any, Protocol, TypedDict, final, overload

from typing_extensions import Unpack

__all__ = [
    "ALGORITHMS",
    "IPVS_SCHEDULERS",
    "PROTOCOLS",
    "PROXIER_FLAGS",
    "PROXIER_FLAG_MODES",
    "TRACE_MODES",
    "TRAFFIC_SOURCES",
    "AuditReport",
    "Balancer",
    "Cluster",
    "ConfigError",
    "DumpError",
    "EndpointsReport",
    "InvalidArgumentError",
    "Issue",
    "ManifestError",
    "ParseError",
    "ProxierSettings",
    "ProxyConfig",
    "Service",
    "ServicePort",
    "SimulationReport",
    "Summary",
    "SvcCoreError",
    "TraceOutcome",
    "TraceResult",
    "UnknownNodeError",
    "UnknownServiceError",
    "ValidationError",
    "__version__",
    "_panic_for_tests",
]

__version__: str

# The core's name lists: selection algorithms, IPVS schedulers, the proxier flags (keyword
# arguments of render_iptables, render_ipvs, trace and audit), trace protocols and sources.
ALGORITHMS: tuple[str, ...]
IPVS_SCHEDULERS: tuple[str, ...]
PROXIER_FLAGS: tuple[str, ...]
PROXIER_FLAG_MODES: dict[str, tuple[str, ...]]
PROTOCOLS: tuple[str, ...]
TRACE_MODES: tuple[str, ...]
TRAFFIC_SOURCES: tuple[str, ...]

class _ProxierFlags(TypedDict, total=False):
    """The proxier flags (PROXIER_FLAGS but node and family, which the methods take apart).
    Each overrides the configuration when not None; one of another mode raises
    InvalidArgumentError."""

    cluster_cidr: str | None
    masquerade_all: bool | None
    masquerade_bit: int | None
    masquerade_mark: str | None
    localhost_nodeports: bool | None
    nodeport_addresses: Sequence[str] | None
    nfacct_counters: Sequence[str] | None
    random_fully: bool | None
    conntrack_tcp_be_liberal: bool | None
    service_cidrs: Sequence[str] | None
    ipvs_scheduler: str | None
    proxy_port_range: str | None
    bind_address: str | None
    strict: bool | None
    allow_unknown_node: bool | None

class _BinaryWriter(Protocol):
    """A binary file, such as ``sys.stdout.buffer``: what ``out`` of the render methods takes."""

    def write(self, data: bytes, /) -> object: ...

class SvcCoreError(ValueError):
    """Base class of every svccore error."""

    kind: str
    file: str | None
    path: str | None
    errors: list[Issue]

class ParseError(SvcCoreError):
    """The text is not valid JSON or YAML."""

class ManifestError(SvcCoreError):
    """The objects are not Kubernetes objects svccore can read."""

class ValidationError(SvcCoreError):
    """The objects break a rule kube-proxy needs."""

class UnknownServiceError(SvcCoreError):
    """A service named by the caller does not exist."""

class UnknownNodeError(SvcCoreError):
    """The node named by the caller has no Node object among the cluster's Node objects."""

class ConfigError(SvcCoreError):
    """A kube-proxy configuration value is invalid or missing."""

class InvalidArgumentError(SvcCoreError):
    """An argument is invalid."""

class DumpError(SvcCoreError):
    """An iptables-save / ipvsadm dump cannot be parsed."""

@final
class Issue:
    """A finding located in the input."""

    @property
    def file(self) -> str | None: ...
    @property
    def path(self) -> str: ...
    @property
    def message(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class ServicePort:
    """One entry of a Service's spec.ports."""

    @property
    def name(self) -> str: ...
    @property
    def protocol(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def target_port(self) -> int | str | None: ...
    @property
    def node_port(self) -> int | None: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class Service:
    """A Service as loaded."""

    @property
    def namespace(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def cluster_ip(self) -> str | None: ...
    @property
    def cluster_ips(self) -> list[str]: ...
    @property
    def ip_families(self) -> list[str]: ...
    @property
    def headless(self) -> bool: ...
    @property
    def external_name(self) -> str | None: ...
    @property
    def ports(self) -> list[ServicePort]: ...
    @property
    def selector(self) -> dict[str, str] | None: ...
    @property
    def external_ips(self) -> list[str]: ...
    @property
    def external_traffic_policy(self) -> str | None: ...
    @property
    def internal_traffic_policy(self) -> str | None: ...
    @property
    def file(self) -> str | None: ...
    @property
    def path(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class Summary:
    """Counts describing a cluster; str() is a one-line text."""

    @property
    def services(self) -> int: ...
    @property
    def services_by_type(self) -> dict[str, int]: ...
    @property
    def headless(self) -> int: ...
    @property
    def external_name(self) -> int: ...
    @property
    def service_ports(self) -> int: ...
    @property
    def endpoint_slices(self) -> int: ...
    @property
    def endpoints(self) -> dict[str, dict[str, Any]]: ...
    @property
    def nodes(self) -> int: ...
    @property
    def pods(self) -> int: ...
    @property
    def warnings(self) -> int: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class EndpointsReport:
    """Which endpoints each node uses for each service port; str() is the text form."""

    @property
    def nodes(self) -> list[str]: ...
    def only(self, node: str) -> EndpointsReport: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class ProxyConfig:
    """A kube-proxy KubeProxyConfiguration."""

    @staticmethod
    def from_yaml(text: str, *, file: str | None = None) -> ProxyConfig: ...
    @property
    def mode(self) -> str | None: ...
    @property
    def cluster_cidr(self) -> str | None: ...
    @property
    def hostname_override(self) -> str | None: ...
    @property
    def masquerade_all(self) -> bool | None: ...
    @property
    def masquerade_bit(self) -> int | None: ...
    @property
    def localhost_node_ports(self) -> bool | None: ...
    @property
    def ipvs_scheduler(self) -> str | None: ...
    @property
    def ipvs_strict_arp(self) -> bool | None: ...
    @property
    def node_port_addresses(self) -> list[str]: ...
    @property
    def detect_local_mode(self) -> str | None: ...
    @property
    def bridge_interface(self) -> str | None: ...
    @property
    def interface_name_prefix(self) -> str | None: ...
    @property
    def file(self) -> str | None: ...
    def validate(self) -> list[Issue]: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class Cluster:
    """Kubernetes objects loaded into one cluster."""

    def __reduce__(self) -> tuple[Callable[..., Cluster], tuple[Any]]:
        """Pickles as the inputs it was loaded from; unpickling loads them again."""

    @staticmethod
    def from_json(
        text: str, *, file: str | None = None, node_port_range: tuple[int, int] | None = None
    ) -> Cluster: ...
    @staticmethod
    def from_yaml(
        text: str, *, file: str | None = None, node_port_range: tuple[int, int] | None = None
    ) -> Cluster: ...
    @staticmethod
    def from_sources(
        sources: Sequence[tuple[str, str | bytes]],
        *,
        node_port_range: tuple[int, int] | None = None,
    ) -> Cluster: ...
    @staticmethod
    def from_files(
        *paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        node_port_range: tuple[int, int] | None = None,
    ) -> Cluster: ...
    @staticmethod
    def from_manifests(
        objects: Any, *, file: str | None = None, node_port_range: tuple[int, int] | None = None
    ) -> Cluster: ...
    @property
    def services(self) -> list[Service]: ...
    @property
    def nodes(self) -> list[str]: ...
    @property
    def warnings(self) -> list[Issue]: ...
    @property
    def proxy_config(self) -> ProxyConfig | None: ...
    def validate(self, node_port_range: tuple[int, int] = (30000, 32767)) -> list[Issue]: ...
    def summary(self) -> Summary: ...
    def endpoints(self, node: str | None = None) -> EndpointsReport: ...
    def simulate(
        self,
        service: str,
        *,
        node: str | None = None,
        scheduler: str = "iptables",
        source: str = "pod",
        clients: int = 100,
        connections: int = 10000,
        duration: float = 3600.0,
        hold: float = 1.0,
        seed: int = 0,
        affinity_timeout: int | None = None,
        flags: Sequence[str] | None = None,
        table_size: int | None = None,
        remove_endpoint: str | None = None,
        add_endpoint: str | None = None,
        samples: int = 0,
        progress: Callable[[int, int], object] | None = None,
        allow_unknown_node: bool = False,
    ) -> SimulationReport: ...
    def proxy_warnings(self, family: str = "IPv4") -> list[Issue]: ...
    @overload
    def render_iptables(
        self,
        *,
        node: str | None = None,
        form: str = "restore",
        mode: str = "iptables",
        config: ProxyConfig | None = None,
        proxier_settings: ProxierSettings | dict[str, Any] | str | os.PathLike[str] | None = None,
        family: str | None = None,
        out: None = None,
        **flags: Unpack[_ProxierFlags],
    ) -> str: ...
    @overload
    def render_iptables(
        self,
        *,
        node: str | None = None,
        form: str = "restore",
        mode: str = "iptables",
        config: ProxyConfig | None = None,
        proxier_settings: ProxierSettings | dict[str, Any] | str | os.PathLike[str] | None = None,
        family: str | None = None,
        out: _BinaryWriter,
        **flags: Unpack[_ProxierFlags],
    ) -> None: ...
    def assumed_defaults(
        self,
        *,
        mode: str = "iptables",
        config: ProxyConfig | None = None,
        proxier_settings: ProxierSettings | dict[str, Any] | str | os.PathLike[str] | None = None,
        **flags: Unpack[_ProxierFlags],
    ) -> list[dict[str, str]]: ...
    def settings(
        self,
        *,
        node: str | None = None,
        mode: str = "iptables",
        config: ProxyConfig | None = None,
        proxier_settings: ProxierSettings | dict[str, Any] | str | os.PathLike[str] | None = None,
        family: str | None = None,
        **flags: Unpack[_ProxierFlags],
    ) -> dict[str, Any]: ...
    def node_notes(
        self,
        *,
        node: str | None = None,
        mode: str = "iptables",
        config: ProxyConfig | None = None,
        proxier_settings: ProxierSettings | dict[str, Any] | str | os.PathLike[str] | None = None,
        family: str | None = None,
        **flags: Unpack[_ProxierFlags],
    ) -> list[str]: ...
    @overload
    def render_nftables(
        self,
        *,
        node: str | None = None,
        form: str = "dump",
        config: ProxyConfig | None = None,
        proxier_settings: ProxierSettings | dict[str, Any] | str | os.PathLike[str] | None = None,
        family: str | None = None,
        out: None = None,
        **flags: Unpack[_ProxierFlags],
    ) -> str: ...
    @overload
    def render_nftables(
        self,
        *,
        node: str | None = None,
        form: str = "dump",
        config: ProxyConfig | None = None,
        proxier_settings: ProxierSettings | dict[str, Any] | str | os.PathLike[str] | None = None,
        family: str | None = None,
        out: _BinaryWriter,
        **flags: Unpack[_ProxierFlags],
    ) -> None: ...
    def nftables_service_cidrs(
        self,
        *,
        proxier_settings: ProxierSettings | dict[str, Any] | str | os.PathLike[str] | None = None,
        service_cidrs: Sequence[str] | None = None,
    ) -> tuple[str, list[str], str]: ...
    @overload
    def render_ipvs(
        self,
        *,
        node: str | None = None,
        form: str = "list",
        config: ProxyConfig | None = None,
        family: str = "IPv4",
        out: None = None,
        **flags: Unpack[_ProxierFlags],
    ) -> str: ...
    @overload
    def render_ipvs(
        self,
        *,
        node: str | None = None,
        form: str = "list",
        config: ProxyConfig | None = None,
        family: str = "IPv4",
        out: _BinaryWriter,
        **flags: Unpack[_ProxierFlags],
    ) -> None: ...
    def trace(
        self,
        *,
        node: str,
        src: str,
        dst: str,
        proto: str = "tcp",
        source: str = "pod",
        mode: str = "iptables",
        recent: Sequence[str] | None = None,
        config: ProxyConfig | None = None,
        proxier_settings: ProxierSettings | dict[str, Any] | str | os.PathLike[str] | None = None,
        **flags: Unpack[_ProxierFlags],
    ) -> TraceResult: ...
    def trace_many(
        self,
        packets: Sequence[Mapping[str, Any]],
        *,
        node: str,
        mode: str = "iptables",
        config: ProxyConfig | None = None,
        proxier_settings: ProxierSettings | dict[str, Any] | str | os.PathLike[str] | None = None,
        **flags: Unpack[_ProxierFlags],
    ) -> list[TraceResult]: ...
    def _tracer_cache_counts(self) -> tuple[int, int]: ...
    def audit(
        self,
        actual: str,
        *,
        node: str,
        mode: str = "iptables",
        file: str | None = None,
        table: str | None = None,
        config: ProxyConfig | None = None,
        proxier_settings: ProxierSettings | dict[str, Any] | str | os.PathLike[str] | None = None,
        family: str | None = None,
        **flags: Unpack[_ProxierFlags],
    ) -> AuditReport: ...

@final
class ProxierSettings:
    """kube-proxy's iptables proxier settings (the proxy.json form)."""

    @staticmethod
    def from_json(text: str, *, file: str | None = None) -> ProxierSettings: ...
    @staticmethod
    def from_dict(fields: dict[str, Any]) -> ProxierSettings: ...
    @property
    def fields(self) -> list[str]: ...
    @property
    def file(self) -> str | None: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class TraceOutcome:
    """One path of a traced packet."""

    @property
    def verdict(self) -> str: ...
    @property
    def endpoint(self) -> str | None: ...
    @property
    def chain(self) -> str | None: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def cause(self) -> str | None: ...
    @property
    def probability(self) -> Fraction: ...
    @property
    def decimal(self) -> float: ...
    @property
    def nominal(self) -> Fraction: ...
    @property
    def masquerade(self) -> bool: ...
    @property
    def steps(self) -> list[dict[str, Any]]: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class TraceResult:
    """The outcome of Cluster.trace; str() is the command's text."""

    @property
    def mode(self) -> str: ...
    @property
    def node(self) -> str: ...
    @property
    def outcomes(self) -> list[TraceOutcome]: ...
    def endpoints(self) -> dict[str, float]: ...
    @property
    def virtual_server(self) -> dict[str, Any] | None: ...
    @property
    def warnings(self) -> list[str]: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class AuditReport:
    """The outcome of Cluster.audit; str() is the command's text."""

    @property
    def has_drift(self) -> bool: ...
    @property
    def node(self) -> str: ...
    @property
    def family(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def service_ports(self) -> list[str]: ...
    @property
    def clean_service_ports(self) -> int: ...
    @property
    def notes(self) -> list[str]: ...
    @property
    def expected_rules(self) -> int: ...
    @property
    def actual_rules(self) -> int: ...
    @property
    def missing(self) -> dict[str, list[str]]: ...
    @property
    def extra(self) -> dict[str, list[str]]: ...
    @property
    def changed(self) -> dict[str, list[tuple[str, str]]]: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class SimulationReport:
    """The outcome of Cluster.simulate; str() is the command's table."""

    @property
    def service_port(self) -> str: ...
    @property
    def node(self) -> str: ...
    @property
    def algorithm(self) -> str: ...
    @property
    def note(self) -> str | None: ...
    @property
    def rejected(self) -> int: ...
    @property
    def dropped(self) -> int: ...
    @property
    def balance(self) -> float: ...
    @property
    def picks(self) -> dict[str, int]: ...
    @property
    def shares(self) -> dict[str, float]: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class Balancer:
    """A selection algorithm over a fixed backend list."""

    def __new__(
        cls,
        algorithm: str,
        backends: Sequence[str],
        *,
        weights: Sequence[int] | None = None,
        table_size: int | None = None,
        flags: Sequence[str] | None = None,
        seed: int = 0,
        affinity_timeout: int | None = None,
        affinity: str | None = None,
        hash_client_port: bool = False,
    ) -> Balancer: ...
    @property
    def backends(self) -> list[str]: ...
    @property
    def algorithm(self) -> str: ...
    def pick(
        self, client_ip: str, client_port: int | None = None, now: float = 0.0
    ) -> str | None: ...
    def pick_index(
        self, client_ip: str, client_port: int | None = None, now: float = 0.0
    ) -> int | None: ...
    def pick_many(
        self,
        clients: Any,
        ports: Sequence[int] | None = None,
        now: float = 0.0,
        *,
        as_addresses: bool = False,
    ) -> Any: ...

def _panic_for_tests() -> None: ...
