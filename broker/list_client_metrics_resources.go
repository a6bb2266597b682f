package broker

// ListClientMetricsResources (key 74), version 0: Kafka 4.0.1 (v0 only)
// ∩ kmsg v1.15.1 (which knows it as ListConfigResources, v0-1; v1 is
// Kafka 4.1's). Takhin has no client metrics resources (KIP-714 telemetry
// is not implemented), so the list is always empty. Not implemented:
// authorization.

import "github.com/twmb/franz-go/pkg/kmsg"

func handleListClientMetricsResources(b *Broker, r *request) {
	req := r.kreq.(*kmsg.ListConfigResourcesRequest)
	resp := req.ResponseKind().(*kmsg.ListConfigResourcesResponse)
	b.respond(r, resp)
}
