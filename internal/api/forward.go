package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Envelope: v0 (controller listener only)
//
// Behavior (KIP-590):
//   - A broker that is not the active controller sends the requests of Forward APIs
//     (CreateTopics, DeleteTopics, CreatePartitions, the config and feature changes, quorum
//     membership) to the active controller wrapped in an Envelope: the client's request with
//     its header (RequestData), the principal the broker authenticated (RequestPrincipal,
//     Kafka's DefaultPrincipalData) and the client's address (ClientHostAddress).
//   - The controller runs the request as if the client had sent it and returns the answer,
//     header included, in ResponseData; the broker hands it to the client unchanged.
//   - Authorization: the Envelope needs ClusterAction on the cluster for the sending broker's
//     principal (else CLUSTER_AUTHORIZATION_FAILED); the inner request is then authorized by
//     its handler as RequestPrincipal connecting from ClientHostAddress. The forwarding
//     broker does not authorize the request itself, as Kafka's brokers do not.
//   - Envelope errors (the inner answer carries the inner errors): NOT_CONTROLLER when this
//     node is not the active controller (the broker retries against the new one);
//     INVALID_REQUEST for request data that does not decode or an API that is not forwarded;
//     UNSUPPORTED_VERSION for an inner version this build does not serve.

func init() {
	Register(API{Key: 58, MinVersion: 0, MaxVersion: 0, Handle: handleEnvelope, Listeners: ControllerListener})
}

// Forwarder carries forwarded requests to the active controller (*cluster.Client).
type Forwarder interface {
	// ControllerIsLocal reports whether this node is the active controller: its own handlers
	// then run the request.
	ControllerIsLocal() bool
	// Envelope sends req to the active controller and returns its answer. It retries while
	// the controller is unknown or moving, until ctx ends.
	Envelope(ctx context.Context, req *kmsg.EnvelopeRequest) (*kmsg.EnvelopeResponse, error)
}

// ForwardTimeout bounds the forwarding of one request, retries while the controller moves
// included (Kafka's request.timeout.ms for forwarded requests is 30 s). A variable for tests.
var ForwardTimeout = 30 * time.Second

// AnonymousPrincipal is the principal of requests on listeners without authentication.
const AnonymousPrincipal = "User:ANONYMOUS"

// forwarding wraps the handler of a Forward API on the broker listener: on the active
// controller (or without a Forwarder, a node on its own) the handler runs here; elsewhere the
// request goes to the controller in an Envelope. If the controller cannot be reached before
// the request's context ends, the local handler answers (NOT_CONTROLLER, which clients retry).
func forwarding(local Handler) Handler {
	return func(ctx context.Context, env *Env, req *Request) (Response, error) {
		if env.Forwarder == nil || env.Forwarder.ControllerIsLocal() {
			return local(ctx, env, req)
		}
		return Response{Finish: func(ctx context.Context) (Response, error) {
			fctx, cancel := context.WithTimeout(ctx, ForwardTimeout)
			msg, err := forward(fctx, env, req)
			cancel()
			if err == nil {
				return Reply(msg), nil
			}
			env.Logger.Debug("forwarding to the controller failed; answering here", "api", kmsg.NameForKey(req.Key), "err", err)
			// Briefly: the local handler answers NOT_CONTROLLER, or its own error.
			lctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			resp, err := local(lctx, env, req)
			if err == nil && resp.Finish != nil {
				return resp.Finish(lctx)
			}
			return resp, err
		}}, nil
	}
}

// forward sends req to the active controller in an Envelope and decodes its answer.
func forward(ctx context.Context, env *Env, req *Request) (kmsg.Response, error) {
	env2 := kmsg.NewPtrEnvelopeRequest()
	env2.RequestData = EncodeRequest(req)
	principal := req.Conn.Principal
	if principal == "" {
		principal = AnonymousPrincipal
	}
	env2.RequestPrincipal = EncodePrincipal(principal)
	if ip := remoteIP(req.Conn.Remote); ip.IsValid() {
		env2.ClientHostAddress = ip.AsSlice()
	}
	resp, err := env.Forwarder.Envelope(ctx, env2)
	if err != nil {
		return nil, err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	msg, corr, err := DecodeResponse(req.Msg, resp.ResponseData)
	if err != nil {
		return nil, fmt.Errorf("envelope response: %w", err)
	}
	if corr != req.CorrelationID {
		return nil, fmt.Errorf("envelope response: correlation id %d, want %d", corr, req.CorrelationID)
	}
	return msg, nil
}

func handleEnvelope(ctx context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.EnvelopeRequest)
	resp := r.ResponseKind().(*kmsg.EnvelopeResponse)
	fail := func(e *kerr.Error) (Response, error) {
		resp.ErrorCode = e.Code
		return Reply(resp), nil
	}
	if !env.AuthorizeCluster(req, opClusterAction) { // the sending broker's principal
		return fail(kerr.ClusterAuthorizationFailed)
	}
	if env.Forwarder != nil && !env.Forwarder.ControllerIsLocal() {
		return fail(kerr.NotController)
	}
	inner, err := DecodeRequest(r.RequestData)
	if err != nil {
		env.Logger.Debug("envelope: bad request data", "err", err)
		if errors.Is(err, errUnsupportedVersion) {
			return fail(kerr.UnsupportedVersion)
		}
		return fail(kerr.InvalidRequest)
	}
	if a, ok := Lookup(inner.Key); !ok || !a.Forward {
		return fail(kerr.InvalidRequest)
	} else if !env.Versions.Served(a).Supports(inner.Version) { // a legacy version switched off here
		return fail(kerr.UnsupportedVersion)
	}
	inner.Conn = ConnInfo{Listener: req.Conn.Listener, Local: req.Conn.Local, Remote: req.Conn.Remote, Principal: AnonymousPrincipal}
	if len(r.RequestPrincipal) > 0 {
		p, err := decodePrincipal(r.RequestPrincipal)
		if err != nil {
			return fail(kerr.PrincipalDeserializationFailure)
		}
		inner.Conn.Principal = p
	}
	if ip, ok := netip.AddrFromSlice(r.ClientHostAddress); ok {
		inner.Conn.Remote = &net.TCPAddr{IP: ip.AsSlice()}
	}
	a, _ := Lookup(inner.Key)
	answer := func(ctx context.Context) (Response, error) {
		out, err := a.Handle(ctx, env, inner)
		if err != nil {
			return Response{}, err
		}
		if out.Finish != nil {
			if out, err = out.Finish(ctx); err != nil {
				return Response{}, err
			}
		}
		if out.Release != nil {
			defer out.Release()
		}
		if out.Msg == nil || len(out.Splices) > 0 {
			return Response{}, fmt.Errorf("envelope: %s answered without a plain response", a.Name())
		}
		resp.ResponseData = EncodeResponse(inner, out.Msg)
		return Reply(resp), nil
	}
	return Response{Finish: answer}, nil
}

// EncodeRequest is req's header and body as a client sent them (an Envelope's RequestData).
func EncodeRequest(req *Request) []byte {
	var f *kmsg.RequestFormatter
	if req.ClientID != nil {
		f = kmsg.NewRequestFormatter(kmsg.FormatterClientID(*req.ClientID))
	} else {
		f = kmsg.NewRequestFormatter()
	}
	req.Msg.SetVersion(req.Version)
	return f.AppendRequest(nil, req.Msg, req.CorrelationID)[4:] // without the size
}

var errUnsupportedVersion = errors.New("unsupported version")

// DecodeRequest decodes a request with its header (an Envelope's RequestData). The Request's
// Conn is left empty.
func DecodeRequest(data []byte) (_ *Request, err error) {
	defer func() {
		if p := recover(); p != nil { // kmsg decoders are not meant to panic; never let one through
			err = fmt.Errorf("decode request: %v", p)
		}
	}()
	r := kbin.Reader{Src: data}
	key, version, corr := r.Int16(), r.Int16(), r.Int32()
	clientID := r.NullableString()
	if err := r.Complete(); err != nil {
		return nil, fmt.Errorf("request header: %w", err)
	}
	msg := kmsg.RequestForKey(key)
	if msg == nil {
		return nil, fmt.Errorf("unknown api key %d", key)
	}
	a, ok := Lookup(key)
	if !ok || !a.Supports(version) {
		return nil, fmt.Errorf("%w: api key %d v%d", errUnsupportedVersion, key, version)
	}
	msg.SetVersion(version)
	if msg.IsFlexible() {
		if err := skipTags(&r); err != nil {
			return nil, fmt.Errorf("request header: %w", err)
		}
	}
	if err := msg.ReadFrom(r.Src); err != nil {
		return nil, fmt.Errorf("%s v%d: %w", kmsg.NameForKey(key), version, err)
	}
	if clientID != nil {
		id := strings.Clone(*clientID)
		clientID = &id
	}
	return &Request{Key: key, Version: version, CorrelationID: corr, ClientID: clientID, Msg: msg}, nil
}

// EncodeResponse is resp's header and body as they go to the client of req (an Envelope's
// ResponseData).
func EncodeResponse(req *Request, resp kmsg.Response) []byte {
	resp.SetVersion(req.Version)
	dst := kbin.AppendInt32(nil, req.CorrelationID)
	if resp.IsFlexible() && req.Key != 18 { // ApiVersions' response header is always v0
		dst = append(dst, 0)
	}
	return resp.AppendTo(dst)
}

// DecodeResponse decodes the answer to req (an Envelope's ResponseData) and returns it with
// its correlation id.
func DecodeResponse(req kmsg.Request, data []byte) (_ kmsg.Response, corr int32, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("decode response: %v", p)
		}
	}()
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	r := kbin.Reader{Src: data}
	corr = r.Int32()
	if err := r.Complete(); err != nil {
		return nil, 0, fmt.Errorf("response header: %w", err)
	}
	if resp.IsFlexible() && req.Key() != 18 {
		if err := skipTags(&r); err != nil {
			return nil, 0, fmt.Errorf("response header: %w", err)
		}
	}
	if err := resp.ReadFrom(r.Src); err != nil {
		return nil, 0, err
	}
	return resp, corr, nil
}

// skipTags reads past a tagged-field section.
func skipTags(r *kbin.Reader) error {
	n := r.Uvarint()
	for range n {
		r.Uvarint()
		size := r.Uvarint()
		r.Span(int(size))
		if r.Complete() != nil {
			break
		}
	}
	return r.Complete()
}

// EncodePrincipal is Kafka's default principal serialization (DefaultPrincipalData) of
// "Type:Name".
func EncodePrincipal(p string) []byte {
	typ, name, _ := strings.Cut(p, ":")
	d := kmsg.NewDefaultPrincipalData()
	d.Type, d.Name = typ, name
	return d.AppendTo(nil)
}

func decodePrincipal(b []byte) (string, error) {
	var d kmsg.DefaultPrincipalData
	if err := d.ReadFrom(b); err != nil {
		return "", err
	}
	return d.Type + ":" + d.Name, nil
}

func remoteIP(a net.Addr) netip.Addr {
	if t, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(t.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}
