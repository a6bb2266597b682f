package broker

// DescribeCluster (key 60), versions 0-1: Kafka 4.0.1 ∩ kmsg v1.15.1.
//
// The cluster id from the metadata image (as Metadata gives it), this
// node as the controller id (Kafka's brokers name a live broker there,
// since clients cannot reach controllers) and as the one broker, with its
// advertised host and port and a null rack. v1's EndpointType: 1
// (brokers) is served; 2 (controllers) is MISMATCHED_ENDPOINT_TYPE and
// any other UNSUPPORTED_ENDPOINT_TYPE, as a Kafka broker's listener
// answers (INVALID_REQUEST at v0). Cluster authorized operations, when
// asked for, are what Kafka computes without an authorizer: every
// operation a CLUSTER resource supports; otherwise Kafka's "not
// requested" value. Not implemented: ACLs.

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	endpointBrokers     int8 = 1
	endpointControllers int8 = 2
)

// clusterOperations is the bit field of AclOperation codes a CLUSTER
// resource supports (AclEntry.supportedOperations): CREATE 5, ALTER 7,
// DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11,
// IDEMPOTENT_WRITE 12.
const clusterOperations int32 = 1<<5 | 1<<7 | 1<<8 | 1<<9 | 1<<10 | 1<<11 | 1<<12

func handleDescribeCluster(b *Broker, r *request) {
	req := r.kreq.(*kmsg.DescribeClusterRequest)
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.EndpointType = endpointBrokers
	if r.hdr.APIVersion >= 1 && req.EndpointType != endpointBrokers {
		code := kerr.UnsupportedEndpointType.Code
		if req.EndpointType == endpointControllers {
			code = kerr.MismatchedEndpointType.Code
		}
		resp.ErrorCode = code
		resp.ErrorMessage = strp(fmt.Sprintf("this node serves endpoint type %d (brokers), not %d", endpointBrokers, req.EndpointType))
		b.respond(r, resp)
		return
	}
	resp.ControllerID = b.cfg.NodeID
	if b.image != nil {
		resp.ClusterID = b.image.ClusterID()
	}
	self := kmsg.NewDescribeClusterResponseBroker()
	self.NodeID, self.Host, self.Port = b.cfg.NodeID, b.cfg.AdvertisedHost, b.cfg.AdvertisedPort
	resp.Brokers = []kmsg.DescribeClusterResponseBroker{self}
	resp.ClusterAuthorizedOperations = authorizedOpsOmitted
	if req.IncludeClusterAuthorizedOperations {
		resp.ClusterAuthorizedOperations = clusterOperations
	}
	b.respond(r, resp)
}
