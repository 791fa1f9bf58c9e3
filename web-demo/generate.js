// A synthetic cluster of `n` services for trying the playground at scale (and for the browser
// test's timing): 3 nodes in 2 zones; each service has one TCP port and an EndpointSlice of 3
// endpoints spread over the nodes; every 10th is a NodePort with externalTrafficPolicy Local.
// Pure ES module, no DOM: also imported by the Node tests.

/** @param {number} n @returns {string} a `kind: List` JSON text */
export function generateCluster(n) {
  const nodes = [
    ["node-a1", "zone-a"],
    ["node-a2", "zone-a"],
    ["node-b1", "zone-b"],
  ];
  const items = nodes.map(([name, zone], i) => ({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone } },
    status: { addresses: [{ type: "InternalIP", address: `192.168.0.${i + 10}` }] },
  }));
  for (let i = 0; i < n; i++) {
    const name = `svc-${String(i).padStart(4, "0")}`;
    const local = i % 10 === 0;
    const spec = {
      type: local ? "NodePort" : "ClusterIP",
      clusterIP: `10.100.${Math.floor(i / 250)}.${(i % 250) + 1}`,
      selector: { app: name },
      // Node ports stay inside the default range 30000-32767 for up to 27,680 services.
      ports: [{ name: "http", port: 80, targetPort: 8080, ...(local ? { nodePort: 30000 + i / 10 } : {}) }],
      ...(local ? { externalTrafficPolicy: "Local" } : {}),
    };
    items.push({ apiVersion: "v1", kind: "Service", metadata: { name, namespace: "bench" }, spec });
    items.push({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: `${name}-abcde`,
        namespace: "bench",
        labels: { "kubernetes.io/service-name": name },
      },
      addressType: "IPv4",
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      endpoints: [0, 1, 2].map((k) => ({
        addresses: [`10.244.${(i * 3 + k) >> 8}.${(i * 3 + k) & 255}`],
        conditions: { ready: true },
        nodeName: nodes[(i + k) % 3][0],
        zone: nodes[(i + k) % 3][1],
      })),
    });
  }
  // One object per line: compact (a 1,000-service cluster is ~0.8 MB) yet editable.
  return `{"apiVersion": "v1", "kind": "List", "items": [\n${items.map((i) => JSON.stringify(i)).join(",\n")}\n]}\n`;
}
