/** An operation or view name listed by `capabilities()`. */
export type Capability =
  | "load" | "validate" | "services" | "endpoints" | "nodes" | "warnings"
  | "iptables-restore" | "iptables-save" | "ipvsadm-ln" | "ipvsadm-save" | "ipset-save"
  | "chain-graph" | "trace" | "simulate"
  | (string & {});

export type IpFamily = "IPv4" | "IPv6";

/** A located finding: a load or validation error, or a warning. */
export interface Issue {
  /** The file name given to `loadCluster`, or null. */
  file: string | null;
  /** Path inside the input, e.g. `items[3].spec.ports[1].port` ("" for the whole document). */
  path: string;
  message: string;
}

/** What every export throws: an `Error` whose message is the core's text. */
export interface SvcCoreError extends Error {
  name: "SvcCoreError";
  kind: "parse" | "manifest" | "validation" | "unknown-service" | "config" | "invalid-argument" | "dump";
  /** Path of the first issue ("" when the error has no location). */
  path: string;
  /** File of the first issue, or null. */
  file: string | null;
  issues: Issue[];
}

export interface EndpointRecord {
  /** `ip:port` (`[ip]:port` for IPv6). */
  endpoint: string;
  ip: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName: string | null;
  zone: string | null;
  zoneHints: string[] | null;
  nodeHints: string[] | null;
}

export interface ServicePortRecord {
  namespace: string;
  name: string;
  portName: string;
  /** kube-proxy's `ns/name` or `ns/name:port`. */
  servicePortName: string;
  type: "ClusterIP" | "NodePort" | "LoadBalancer" | string;
  protocol: "TCP" | "UDP" | "SCTP";
  port: number;
  targetPort: number | string | null;
  clusterIP: string;
  nodePort: number | null;
  externalIPs: string[];
  loadBalancerIPs: string[];
  sourceRanges: string[];
  healthCheckNodePort: number | null;
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  usesClusterEndpoints: boolean;
  usesLocalEndpoints: boolean;
  affinitySeconds: number | null;
  topologyKeys: string[];
  endpoints: EndpointRecord[];
}

export interface SkippedService {
  namespace: string;
  name: string;
  type: string;
  reason: string;
  externalName: string | null;
}

export interface ServicesView {
  family: IpFamily;
  ports: ServicePortRecord[];
  skipped: SkippedService[];
}

export interface NodePortEndpoints {
  namespace: string;
  name: string;
  servicePortName: string;
  type: string;
  protocol: string;
  port: number;
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  usesClusterEndpoints: boolean;
  usesLocalEndpoints: boolean;
  hasEndpoints: boolean;
  topologyMode: "None" | "PreferSameNode" | "PreferSameZone";
  clusterFallback: boolean;
  localFallback: boolean;
  topologyKeysUnmatched: boolean;
  /** Endpoints for cluster-policy traffic (KUBE-SVC-*). */
  cluster: string[];
  /** Endpoints for local-policy traffic (KUBE-SVL-*). */
  local: string[];
  /** Every endpoint some rule may reach (one KUBE-SEP-* each). */
  reachable: string[];
  endpoints: EndpointRecord[];
}

export interface NodeEndpoints {
  node: string;
  zone: string | null;
  /** Whether a Node object of that name was loaded (else: no labels, no zone). */
  knownNode: boolean;
  family: IpFamily;
  ports: NodePortEndpoints[];
}

/** Service ports whose lists differ between nodes; `cluster[i]`/`local[i]` are for `nodes[i]`. */
export interface NodeDifferences {
  family: IpFamily;
  nodes: string[];
  ports: {
    servicePortName: string;
    usesClusterEndpoints: boolean;
    usesLocalEndpoints: boolean;
    cluster: number[];
    local: number[];
  }[];
}

export interface NodeRecord {
  name: string;
  zone: string | null;
  labels: Record<string, string>;
  addresses: { type: string; address: string }[];
  podCIDRs: string[];
}

export interface RenderOptions {
  /** The node whose kube-proxy renders. */
  node?: string;
  family?: IpFamily;
}
