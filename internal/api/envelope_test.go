package api_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
)

var envelopeAPI, _ = api.LookupFor(api.ControllerListener)(58)

// notLocal is a Forwarder of a node that is not the controller and reaches none.
type notLocal struct{}

func (notLocal) ControllerIsLocal() bool { return false }
func (notLocal) Envelope(ctx context.Context, _ *kmsg.EnvelopeRequest) (*kmsg.EnvelopeResponse, error) {
	return nil, kerr.NotController
}

func envelopeAnswer(t *testing.T, env *api.Env, r *kmsg.EnvelopeRequest) *kmsg.EnvelopeResponse {
	t.Helper()
	out, err := envelopeAPI.Handle(context.Background(), env, &api.Request{Key: 58, Msg: r, Conn: api.ConnInfo{Listener: api.ControllerListenerName}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Finish != nil {
		if out, err = out.Finish(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return out.Msg.(*kmsg.EnvelopeResponse)
}

func TestEnvelopeErrors(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	produce := kmsg.NewPtrProduceRequest()
	produce.Version = 9
	deleteTopics := kmsg.NewPtrDeleteTopicsRequest()
	deleteTopics.Version = 6
	modern := &api.VersionGate{}
	modern.SetLegacy(false) // sluice.protocol.legacy.versions.enable=false on the controller
	noLegacy := *n.env
	noLegacy.Versions = modern
	for _, c := range []struct {
		name string
		env  *api.Env
		data []byte
		want int16
	}{
		{"not the controller", &api.Env{Logger: n.env.Logger, Forwarder: notLocal{}}, api.EncodeRequest(&api.Request{Key: 20, Version: 6, Msg: deleteTopics}), kerr.NotController.Code},
		{"not a forwarded api", n.env, api.EncodeRequest(&api.Request{Key: 0, Version: 9, Msg: produce}), kerr.InvalidRequest.Code},
		{"truncated", n.env, []byte{0, 20, 0}, kerr.InvalidRequest.Code},
		{"unknown version", n.env, []byte{0, 20, 0, 99, 0, 0, 0, 1, 255, 255}, kerr.UnsupportedVersion.Code},
		{"legacy version switched off", &noLegacy, api.EncodeRequest(&api.Request{Key: 20, Version: 0, Msg: deleteTopics}), kerr.UnsupportedVersion.Code},
	} {
		r := kmsg.NewPtrEnvelopeRequest()
		r.RequestData = c.data
		if got := envelopeAnswer(t, c.env, r).ErrorCode; got != c.want {
			t.Errorf("%s: error %d, want %d", c.name, got, c.want)
		}
	}
}

// TestEnvelopeRunsTheRequest: a CreateTopics in an Envelope creates the topic and the answer
// carries the inner response with the client's correlation id.
func TestEnvelopeRunsTheRequest(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	ct := kmsg.NewPtrCreateTopicsRequest()
	ct.Version = 7
	ct.TimeoutMillis = 5000
	topic := kmsg.NewCreateTopicsRequestTopic()
	topic.Topic, topic.NumPartitions, topic.ReplicationFactor = "enveloped", 2, 1
	ct.Topics = append(ct.Topics, topic)
	r := kmsg.NewPtrEnvelopeRequest()
	r.RequestData = api.EncodeRequest(&api.Request{Key: 19, Version: 7, CorrelationID: 77, Msg: ct})
	r.RequestPrincipal = api.EncodePrincipal("User:bob")
	r.ClientHostAddress = net.ParseIP("127.0.0.9").To4()
	resp := envelopeAnswer(t, n.env, r)
	if resp.ErrorCode != 0 {
		t.Fatalf("envelope error %d", resp.ErrorCode)
	}
	inner, corr, err := api.DecodeResponse(ct, resp.ResponseData)
	if err != nil || corr != 77 {
		t.Fatalf("%v corr %d", err, corr)
	}
	if got := inner.(*kmsg.CreateTopicsResponse).Topics; len(got) != 1 || got[0].ErrorCode != 0 {
		t.Fatalf("inner answer %+v", got)
	}
	if n.topic("enveloped").Partitions == nil {
		t.Fatal("no partitions")
	}
}

// unreachable is a Forwarder of a node that is not the controller and reaches none: Envelope
// waits for its context, as cluster.Client does while no controller answers.
type unreachable struct{}

func (unreachable) ControllerIsLocal() bool { return false }
func (unreachable) Envelope(ctx context.Context, _ *kmsg.EnvelopeRequest) (*kmsg.EnvelopeResponse, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestForwardingIsBounded: with no reachable controller a forwarded request is answered
// NOT_CONTROLLER by the local handler once ForwardTimeout passes, however long the client waits.
func TestForwardingIsBounded(t *testing.T) {
	saved := api.ForwardTimeout
	t.Cleanup(func() { api.ForwardTimeout = saved })
	api.ForwardTimeout = 100 * time.Millisecond
	n := startAdminNode(t, adminOptions{peers: []string{"2@127.0.0.1:1"}})
	n.env.Forwarder = unreachable{}
	del := kmsg.NewPtrDeleteTopicsRequest()
	del.Version = 6
	dt := kmsg.NewDeleteTopicsRequestTopic()
	dt.Topic = kmsg.StringPtr("t")
	del.Topics = append(del.Topics, dt)
	del.TimeoutMillis = 60000
	resp := n.dial().send(del).(*kmsg.DeleteTopicsResponse)
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != kerr.NotController.Code {
		t.Fatalf("answer %+v, want NOT_CONTROLLER", resp.Topics)
	}
}
