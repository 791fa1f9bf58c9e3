"""svccore: kube-proxy's view of Kubernetes Services, offline.

Load Services, EndpointSlices, Endpoints, Pods, Nodes and a KubeProxyConfiguration, check them
against the API server's rules, and see which endpoints each node's kube-proxy uses. Nothing
talks to a cluster: text and Python objects go in, values and text come out.

>>> import svccore
>>> cluster = svccore.Cluster.from_yaml('''
... apiVersion: v1
... kind: Service
... metadata: {name: web}
... spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
... ''')
>>> print(cluster.summary())
1 service (1 ClusterIP), 1 service port, 0 endpoints, 0 nodes
"""

from svccore._svccore import (
    ALGORITHMS,
    IPVS_SCHEDULERS,
    PROTOCOLS,
    PROXIER_FLAG_MODES,
    PROXIER_FLAGS,
    TRACE_MODES,
    TRAFFIC_SOURCES,
    AuditReport,
    Balancer,
    Cluster,
    ConfigError,
    DumpError,
    EndpointsReport,
    InvalidArgumentError,
    Issue,
    ManifestError,
    ParseError,
    ProxierSettings,
    ProxyConfig,
    Service,
    ServicePort,
    SimulationReport,
    Summary,
    SvcCoreError,
    TraceOutcome,
    TraceResult,
    UnknownNodeError,
    UnknownServiceError,
    ValidationError,
    __version__,
)

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
]
