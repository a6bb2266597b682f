package broker

// AlterConfigs (key 33), versions 0-2: Kafka 4.0.1 ∩ kmsg v1.15.1.
//
// The legacy alter: a resource's configs replace all of its dynamic
// configs (the broker turns that into the controller's Set and Delete
// lists; names not given are deleted). TOPIC: the resulting configs are
// validated together, every refusal INVALID_CONFIG ("Unknown topic config
// name: x", or the table's message for an invalid or unsupported value);
// an unknown topic is UNKNOWN_TOPIC_OR_PARTITION. BROKER: "" is the
// cluster-wide default, this node's id this node; another id is
// INVALID_REQUEST, and so is any refused config ("Cannot update these
// configs dynamically: Set(x)", an invalid value), as Kafka answers
// (KAFKA-13609). A resource named twice, a config named twice or a null
// value are INVALID_REQUEST. ValidateOnly checks without writing. Every
// change is durable (a metadata log record, synced) before it is answered
// and applies from the next image on.
//
// Not implemented: internal topics (INVALID_REQUEST: their configs are
// the broker's), BROKER_LOGGER (Kafka refuses it here too), CLIENT_METRICS
// and GROUP resources (INVALID_REQUEST); AlterConfigPolicy; authorization.

import "github.com/twmb/franz-go/pkg/kmsg"

func handleAlterConfigs(b *Broker, r *request) {
	req := r.kreq.(*kmsg.AlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	resp.Resources = make([]kmsg.AlterConfigsResponseResource, len(req.Resources))
	rs := make([]alterResource, len(req.Resources))
	for i, res := range req.Resources {
		out := &resp.Resources[i]
		*out = kmsg.NewAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName = res.ResourceType, res.ResourceName
		rs[i] = alterResource{typ: res.ResourceType, name: res.ResourceName}
		for _, c := range res.Configs {
			rs[i].ops = append(rs[i].ops, ConfigOp{Name: c.Name, Op: int8(kmsg.IncrementalAlterConfigOpSet), Value: c.Value})
		}
	}
	b.alterResources(r, rs, false, req.ValidateOnly,
		func(i int, code int16, msg *string) {
			resp.Resources[i].ErrorCode, resp.Resources[i].ErrorMessage = code, msg
		},
		func() { b.respond(r, resp) })
}
