package api

import (
	"context"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// DescribeCluster: v0–2
//
// Behavior:
//   - Answers from this broker's metadata: the cluster id, the controller (as
//     in Metadata: the active controller when it is a live broker, else a
//     random live broker, as KRaft's Kafka reports one; -1 when none) and every
//     registered, unfenced broker with its endpoint for the listener the
//     request came in on (else its first endpoint) and its rack.
//   - On the controller listener (KIP-919's --bootstrap-controller): EndpointType
//     2 (controllers) lists the quorum's voters with their controller addresses
//     and the active controller's id; 1 (or v0) gets MISMATCHED_ENDPOINT_TYPE.
//   - On a broker listener EndpointType 1 (brokers) is served; 2 (controllers) gets
//     MISMATCHED_ENDPOINT_TYPE, as from any Kafka broker listener; other types
//     UNSUPPORTED_ENDPOINT_TYPE.
//   - Sluice extension: a broker in controlled shutdown carries tagged field
//     InControlledShutdownTag (10000) = 1 in its entry.
//   - IncludeClusterAuthorizedOperations: without ACLs every cluster
//     operation is allowed, and the bitfield says so; otherwise Kafka's
//     "not requested" value.
//
//   - Authorization: none on a broker listener (ClusterAuthorizedOperations are 0 without
//     Describe on the cluster); on the controller listener Alter on the cluster, else
//     CLUSTER_AUTHORIZATION_FAILED.
//
// Version notes:
//   - v1: EndpointType. v2: IncludeFencedBrokers lists fenced brokers too,
//     marked IsFenced.

func init() {
	Register(API{Key: 60, MinVersion: 0, MaxVersion: 2, Handle: handleDescribeCluster, Listeners: BrokerAndController})
}

func handleDescribeCluster(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.DescribeClusterRequest)
	resp := r.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.EndpointType = r.EndpointType
	onController := ListenerKind(req.Conn.Listener) == ControllerListener
	switch {
	case r.Version >= 1 && r.EndpointType != 1 && r.EndpointType != 2:
		resp.ErrorCode = kerr.UnsupportedEndpointType.Code
		return Reply(resp), nil
	case r.Version >= 1 && r.EndpointType == 2 && !onController:
		resp.ErrorCode = kerr.MismatchedEndpointType.Code
		resp.ErrorMessage = kmsg.StringPtr("The request was sent to a broker endpoint, which describes brokers (endpoint type 1), not controllers (2)")
		return Reply(resp), nil
	case onController && (r.Version < 1 || r.EndpointType != 2):
		resp.ErrorCode = kerr.MismatchedEndpointType.Code
		resp.ErrorMessage = kmsg.StringPtr("The request was sent to a controller endpoint, which describes controllers (endpoint type 2), not brokers (1)")
		return Reply(resp), nil
	case onController && !env.AuthorizeCluster(req, opAlter):
		// Kafka's controller asks more of DescribeCluster than brokers do: Alter on the cluster.
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return Reply(resp), nil
	case onController:
		return describeControllers(env, req, r, resp), nil
	}
	img := env.Metadata.Image()
	resp.ClusterID = img.ClusterID()
	resp.ControllerID = reportedController(env, img)
	setClusterAuthorizedOperations(env, req, r, resp)
	withFenced := r.Version >= 2 && r.IncludeFencedBrokers
	for _, b := range img.Brokers() {
		if b.Fenced && !withFenced {
			continue
		}
		if out, ok := describeClusterBroker(b, req.Conn.Listener); ok {
			resp.Brokers = append(resp.Brokers, out)
		}
	}
	return Reply(resp), nil
}

// describeControllers answers DescribeCluster on the controller listener (KIP-919,
// --bootstrap-controller): the quorum's voters with their controller addresses, and the active
// controller.
func describeControllers(env *Env, req *Request, r *kmsg.DescribeClusterRequest, resp *kmsg.DescribeClusterResponse) Response {
	setClusterAuthorizedOperations(env, req, r, resp)
	resp.ClusterID = env.Metadata.Image().ClusterID()
	resp.ControllerID = -1
	if id, ok := env.Metadata.Leader(); ok {
		resp.ControllerID = id
	}
	if env.Quorum == nil {
		resp.ErrorCode = kerr.UnknownServerError.Code
		resp.ErrorMessage = kmsg.StringPtr("this node runs no metadata quorum")
		return Reply(resp)
	}
	voters, err := env.Quorum.Voters()
	if err != nil {
		resp.ErrorCode = ErrorCode(err)
		return Reply(resp)
	}
	for _, v := range voters {
		host, port, err := net.SplitHostPort(v.Addr)
		p, perr := strconv.ParseInt(port, 10, 32)
		if err != nil || perr != nil {
			continue
		}
		b := kmsg.NewDescribeClusterResponseBroker()
		b.NodeID, b.Host, b.Port = v.NodeID, host, int32(p)
		resp.Brokers = append(resp.Brokers, b)
	}
	return Reply(resp)
}

// InControlledShutdownTag is a Sluice extension of DescribeCluster's broker entries: a tagged
// field (KIP-482; clients skip tags they do not know) whose one byte is 1 while the broker is in
// controlled shutdown, which Kafka's protocol does not report. `sluice cluster info` reads it.
// The tag is far above the ones Kafka numbers from 0.
const InControlledShutdownTag uint32 = 10000

// describeClusterBroker is b's entry on listener; a broker without that listener is left out,
// as Kafka leaves it out.
func describeClusterBroker(b *metadata.Broker, listener string) (kmsg.DescribeClusterResponseBroker, bool) {
	out := kmsg.NewDescribeClusterResponseBroker()
	out.NodeID, out.IsFenced = b.ID, b.Fenced
	if b.InControlledShutdown {
		out.UnknownTags.Set(InControlledShutdownTag, []byte{1})
	}
	e, ok := b.Endpoint(listener)
	if !ok {
		return out, false
	}
	out.Host, out.Port = e.Host, e.Port
	if b.Rack != "" {
		rack := b.Rack
		out.Rack = &rack
	}
	return out, true
}

// setClusterAuthorizedOperations fills ClusterAuthorizedOperations when asked: the cluster
// operations the principal may perform if it may Describe the cluster, else 0.
func setClusterAuthorizedOperations(env *Env, req *Request, r *kmsg.DescribeClusterRequest, resp *kmsg.DescribeClusterResponse) {
	if !r.IncludeClusterAuthorizedOperations {
		return
	}
	resp.ClusterAuthorizedOperations = 0
	if env.AuthorizeCluster(req, opDescribe) {
		resp.ClusterAuthorizedOperations = env.authorizedOperations(req, resCluster, ClusterName)
	}
}
