package broker

// IncrementalAlterConfigs (key 44), versions 0-1: Kafka 4.0.1 ∩ kmsg
// v1.15.1.
//
// SET and DELETE change one config each (deleting a config that is not
// set changes nothing); APPEND and SUBTRACT apply to LIST configs only
// (else INVALID_CONFIG "Can't APPEND to key x because its type is not
// LIST."), starting from the resource's value or the config's default, as
// Kafka's controller does. The broker resolves them into the controller's
// Set and Delete lists against the current image. TOPIC: the resulting
// configs are validated together, every refusal INVALID_CONFIG ("Unknown
// topic config name: x", or the table's message); an unknown topic is
// UNKNOWN_TOPIC_OR_PARTITION. BROKER: "" is the cluster-wide default,
// this node's id this node, another id INVALID_REQUEST; a refused config
// (not dynamically updatable: "Cannot update these configs dynamically:
// Set(x)"; unknown; invalid) is INVALID_REQUEST, as Kafka answers
// (KAFKA-13609). A resource or config named twice, a null value outside
// DELETE, an unknown operation: INVALID_REQUEST. ValidateOnly checks
// without writing. Every change is durable (a metadata log record,
// synced) before it is answered and applies from the next image on.
//
// Not implemented: internal topics (INVALID_REQUEST: their configs are
// the broker's), BROKER_LOGGER (INVALID_REQUEST after Kafka's id checks:
// Takhin's loggers are not log4j's), CLIENT_METRICS and GROUP resources
// (INVALID_REQUEST); AlterConfigPolicy; authorization. APPEND and
// SUBTRACT are resolved by the broker against its image, so two
// concurrent APPENDs to one list may lose one (Kafka's controller
// resolves them in order).

import "github.com/twmb/franz-go/pkg/kmsg"

func handleIncrementalAlterConfigs(b *Broker, r *request) {
	req := r.kreq.(*kmsg.IncrementalAlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	resp.Resources = make([]kmsg.IncrementalAlterConfigsResponseResource, len(req.Resources))
	rs := make([]alterResource, len(req.Resources))
	for i, res := range req.Resources {
		out := &resp.Resources[i]
		*out = kmsg.NewIncrementalAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName = res.ResourceType, res.ResourceName
		rs[i] = alterResource{typ: res.ResourceType, name: res.ResourceName}
		for _, c := range res.Configs {
			rs[i].ops = append(rs[i].ops, ConfigOp{Name: c.Name, Op: int8(c.Op), Value: c.Value})
		}
	}
	b.alterResources(r, rs, true, req.ValidateOnly,
		func(i int, code int16, msg *string) {
			resp.Resources[i].ErrorCode, resp.Resources[i].ErrorMessage = code, msg
		},
		func() { b.respond(r, resp) })
}
