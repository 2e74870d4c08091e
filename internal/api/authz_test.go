package api_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/group"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/security/acl"
	"github.com/sluicehq/sluice/internal/security/sasl"
	"github.com/sluicehq/sluice/internal/server"
	sharecoord "github.com/sluicehq/sluice/internal/share/coordinator"
	"github.com/sluicehq/sluice/internal/txn"
)

// The authorization table: for every API key Sluice serves, a principal granted exactly the
// ACLs Kafka requires is served, and a principal missing any one of them is refused with
// Kafka's code (or, for listings, does not see the resource). The table is checked against
// api.APIs(): registering an API without an entry here fails TestAuthorizationTable.
//
// Principals: the servers of the fixture run with a Lookup that sets each request's
// ConnInfo.Principal to "User:<client id>", so every request names its principal in its
// header. The authorizer is testAuthorizer, a set of exact (principal, operation, resource)
// grants: the table is about what the handlers ask, not the ACL matching rules (those are
// internal/security/acl's tests).

// adminPrincipal may do anything (a super user); the fixture sets up state with it.
const adminPrincipal = "User:admin"

type aclKey struct {
	principal string
	op        kmsg.ACLOperation
	typ       kmsg.ACLResourceType
	name      string
}

// testAuthorizer allows exactly the granted (principal, operation, resource) triples, and
// everything to adminPrincipal.
type testAuthorizer struct {
	mu sync.Mutex
	// real, if set, answers instead of the grants.
	real interface {
		api.Authorizer
		api.ResourceTypeAuthorizer
	}
	allowed map[aclKey]bool
	hosts   map[string]string // principal → the host of its latest check
}

func (a *testAuthorizer) grant(principal string, op kmsg.ACLOperation, typ kmsg.ACLResourceType, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.allowed[aclKey{principal, op, typ, name}] = true
}

func (a *testAuthorizer) Authorize(principal, host string, op kmsg.ACLOperation, typ kmsg.ACLResourceType, name string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.hosts[principal] = host
	if a.real != nil {
		return a.real.Authorize(principal, host, op, typ, name)
	}
	return principal == adminPrincipal || a.allowed[aclKey{principal, op, typ, name}]
}

func (a *testAuthorizer) lastHost(principal string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hosts[principal]
}

// delegate makes real answer every later check.
func (a *testAuthorizer) delegate(real interface {
	api.Authorizer
	api.ResourceTypeAuthorizer
}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.real = real
}

func (a *testAuthorizer) AuthorizeByResourceType(principal, host string, op kmsg.ACLOperation, typ kmsg.ACLResourceType) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.real != nil {
		return a.real.AuthorizeByResourceType(principal, host, op, typ)
	}
	if principal == adminPrincipal {
		return true
	}
	for k := range a.allowed {
		if k.principal == principal && k.op == op && k.typ == typ {
			return true
		}
	}
	return false
}

// authzFixture is the in-process broker with real group and transaction coordinators and
// the test authorizer, served on a broker listener and a controller listener.
type authzFixture struct {
	*testBroker
	az             *testAuthorizer
	brokerAddr     string
	controllerAddr string
}

// principalFromClientID wraps every API of lookup so that the request's principal is
// "User:<client id>".
func principalFromClientID(lookup func(int16) (api.API, bool)) func(int16) (api.API, bool) {
	return func(key int16) (api.API, bool) {
		a, ok := lookup(key)
		if !ok {
			return a, false
		}
		inner := a.Handle
		a.Handle = func(ctx context.Context, env *api.Env, req *api.Request) (api.Response, error) {
			if req.ClientID != nil {
				req.Conn.Principal = "User:" + *req.ClientID
			}
			return inner(ctx, env, req)
		}
		return a, true
	}
}

// serveListener serves env on a new loopback listener named name until the test ends.
func serveListener(t *testing.T, env *api.Env, name string, after func()) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Env: env, ListenerName: name,
		Lookup: principalFromClientID(api.LookupFor(api.ListenerKind(name)))})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
		after()
	})
	return ln.Addr().String()
}

func startAuthzFixture(t *testing.T) *authzFixture {
	t.Helper()
	b := startBroker(t)
	ctl := b.env.Controller.(*metadata.Controller)
	groups := group.New(group.Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, NumPartitions: 3,
		Log: &group.PartitionLog{Partitions: b.parts, Controller: ctl, NumPartitions: 3, ReplicationFactor: 1}})
	coord := txn.New(txn.Config{ProducerIDs: txn.NewProducerIDs(ctl, b.nodeID, 0),
		Log:           &txn.PartitionLog{Partitions: b.parts, Controller: ctl, NumPartitions: 3, ReplicationFactor: 1},
		NumPartitions: 3, OffsetsNumPartitions: 3,
		Markers: &txn.PartitionMarkers{Partitions: b.parts, Offsets: groups}})
	coord.Start()
	az := &testAuthorizer{allowed: map[aclKey]bool{}, hosts: map[string]string{}}
	env := *b.env
	env.Txns, env.Groups, env.Authorizer = coord, groups, az
	// The share coordinator, for the share group offset APIs (not following leadership: it
	// serves every key).
	shares := sharecoord.New(sharecoord.Config{NumPartitions: 3,
		Log: &sharecoord.PartitionLog{Partitions: b.parts, Controller: ctl, NumPartitions: 3, ReplicationFactor: 1}})
	t.Cleanup(shares.Close)
	groups.SetSharePersister(shares)
	env.SharePersister, env.ShareCoordinator = shares, shares
	f := &authzFixture{testBroker: b, az: az}
	f.brokerAddr = serveListener(t, &env, "PLAINTEXT", func() {
		coord.Close()
		groups.Close()
	})
	f.controllerAddr = serveListener(t, &env, api.ControllerListenerName, func() {})
	host, portText, _ := net.SplitHostPort(f.brokerAddr)
	port, _ := strconv.Atoi(portText)
	b.apply([]metadata.Record{&metadata.RegisterBrokerRecord{BrokerID: b.nodeID, Epoch: 2,
		Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: host, Port: int32(port)}}}})
	return f
}

// sendAs sends req to addr on a new connection with client id clientID (so principal
// "User:<clientID>") and returns the decoded response.
func sendAs(t *testing.T, addr, clientID string, req kmsg.Request) kmsg.Response {
	t.Helper()
	resp, err := exchange(addr, clientID, req)
	if err != nil {
		t.Fatalf("%s v%d as %s: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), clientID, err)
	}
	return resp
}

// exchange is sendAs returning its error (for goroutines other than the test's).
func exchange(addr, clientID string, req kmsg.Request) (kmsg.Response, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	if _, err := nc.Write(kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID)).AppendRequest(nil, req, 1)); err != nil {
		return nil, err
	}
	c := &rawConn{nc: nc, br: bufio.NewReader(nc)}
	frame, err := c.readFrame()
	if err != nil {
		return nil, err
	}
	if got := int32(binary.BigEndian.Uint32(frame)); got != 1 {
		return nil, fmt.Errorf("correlation id %d, want 1", got)
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	body := frame[4:]
	if resp.IsFlexible() && req.Key() != 18 {
		body = body[1:]
	}
	if err := resp.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	return resp, nil
}

// need is one ACL an API requires: the operation on the resource (a name with "$" is the
// run's id) and the code Kafka answers when it is missing.
type need struct {
	op   kmsg.ACLOperation
	typ  kmsg.ACLResourceType
	name string
	code *kerr.Error
}

func (n need) String() string {
	return fmt.Sprintf("%s %s %s", n.op, n.typ, n.name)
}

func (n need) resource(run string) string { return strings.ReplaceAll(n.name, "$", run) }

// authzCase is one API's row of the table.
type authzCase struct {
	name       string
	key        int16
	controller bool // sent to the controller listener
	// needs are the ACLs the API requires; none: the API authorizes nothing (the case says
	// why), so a principal without any grant is served.
	needs []need
	// setup prepares the run's resources (as adminPrincipal) before its request.
	setup   func(t *testing.T, f *authzFixture, run string)
	request func(f *authzFixture, run string) kmsg.Request
	// code is the response's code for the resource the needs guard.
	code func(kmsg.Response) int16
	// allowed: the code a fully granted principal gets; nil means 0.
	allowed *kerr.Error
	// anyAllowed: the fixture cannot make the request succeed (no quorum, no member, no
	// producer); a granted principal gets any code but an authorization failure.
	anyAllowed bool
	// visible replaces code for listings, which refuse nothing but leave out what the
	// principal may not see: it reports whether the guarded resource is listed.
	visible func(kmsg.Response) bool
}

var authorizationCodes = map[int16]bool{
	kerr.TopicAuthorizationFailed.Code:           true,
	kerr.GroupAuthorizationFailed.Code:           true,
	kerr.ClusterAuthorizationFailed.Code:         true,
	kerr.TransactionalIDAuthorizationFailed.Code: true,
	kerr.DelegationTokenAuthorizationFailed.Code: true,
}

// TestAuthorizationTable runs every API's row: granted, and without each needed ACL in turn.
func TestAuthorizationTable(t *testing.T) {
	f := startAuthzFixture(t)
	f.createTopic("t", 1, nil)
	setupAuthzState(t, f)
	cases := authzCases()
	for _, a := range api.APIs() {
		var rows []authzCase
		for _, c := range cases {
			if c.key == a.Key {
				rows = append(rows, c)
			}
		}
		if len(rows) == 0 {
			t.Errorf("API %d (%s) has no row in the authorization table", a.Key, a.Name())
			continue
		}
		for i, c := range rows {
			if !a.ServedOn(api.BrokerListener) && !c.controller {
				t.Errorf("%s: served on the controller listener only; the row must say controller", c.name)
				continue
			}
			t.Run(fmt.Sprintf("%02d_%s", a.Key, c.name), func(t *testing.T) { runAuthzCase(t, f, c, fmt.Sprintf("k%d-%d", a.Key, i)) })
		}
	}
}

func runAuthzCase(t *testing.T, f *authzFixture, c authzCase, id string) {
	addr := f.brokerAddr
	if c.controller {
		addr = f.controllerAddr
	}
	run := func(t *testing.T, run string, skip int) kmsg.Response {
		if c.setup != nil {
			c.setup(t, f, run)
		}
		for i, n := range c.needs {
			if i != skip {
				f.az.grant("User:"+run, n.op, n.typ, n.resource(run))
			}
		}
		req := c.request(f, run)
		return sendAs(t, addr, run, req)
	}
	t.Run("granted", func(t *testing.T) {
		resp := run(t, id+"-ok", -1)
		if c.visible != nil {
			if !c.visible(resp) {
				t.Fatalf("granted %v: the resource is not listed", c.needs)
			}
			return
		}
		code := c.code(resp)
		switch {
		case c.anyAllowed && authorizationCodes[code]:
			t.Fatalf("granted %v: %v", c.needs, kerr.ErrorForCode(code))
		case c.anyAllowed:
		case c.allowed != nil && code != c.allowed.Code:
			t.Fatalf("granted %v: code %v, want %v", c.needs, kerr.ErrorForCode(code), c.allowed)
		case c.allowed == nil && code != 0:
			t.Fatalf("granted %v: %v", c.needs, kerr.ErrorForCode(code))
		}
	})
	for i, n := range c.needs {
		t.Run("without "+n.String(), func(t *testing.T) {
			resp := run(t, fmt.Sprintf("%s-no%d", id, i), i)
			if c.visible != nil {
				if c.visible(resp) {
					t.Fatalf("without %v: the resource is listed", n)
				}
				return
			}
			if code := c.code(resp); code != n.code.Code {
				t.Fatalf("without %v: code %v, want %v", n, kerr.ErrorForCode(code), n.code)
			}
		})
	}
}

// setupAuthzState creates what several rows read, as the admin: committed offsets of group
// "g" (so it exists and is listed) and an ongoing transaction of transactional id "tx" with
// partition t-0.
func setupAuthzState(t *testing.T, f *authzFixture) {
	t.Helper()
	oc := kmsg.NewPtrOffsetCommitRequest()
	oc.Version, oc.Group, oc.Generation = 8, "g", -1
	oc.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 0}}}}
	if code := sendAs(t, f.brokerAddr, "admin", oc).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("admin offset commit: %v", kerr.ErrorForCode(code))
	}
	ip := kmsg.NewPtrInitProducerIDRequest()
	ip.Version, ip.TransactionalID, ip.TransactionTimeoutMillis, ip.ProducerID, ip.ProducerEpoch = 4, kmsg.StringPtr("tx"), 60000, -1, -1
	init := sendAs(t, f.brokerAddr, "admin", ip).(*kmsg.InitProducerIDResponse)
	if init.ErrorCode != 0 {
		t.Fatalf("admin init producer id: %v", kerr.ErrorForCode(init.ErrorCode))
	}
	ap := v(kmsg.NewPtrAddPartitionsToTxnRequest(), 3)
	ap.TransactionalID, ap.ProducerID, ap.ProducerEpoch = "tx", init.ProducerID, init.ProducerEpoch
	ap.Topics = []kmsg.AddPartitionsToTxnRequestTopic{{Topic: "t", Partitions: []int32{0}}}
	if code := sendAs(t, f.brokerAddr, "admin", ap).(*kmsg.AddPartitionsToTxnResponse).Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("admin add partitions to txn: %v", kerr.ErrorForCode(code))
	}
}

// TestEnvelopeAuthorizesForwardedPrincipal: the controller runs an Envelope's inner request as
// the principal the forwarding broker authenticated, from the client's address, and only for
// a sender with ClusterAction.
func TestEnvelopeAuthorizesForwardedPrincipal(t *testing.T) {
	f := startAuthzFixture(t)
	f.az.grant("User:broker", opCluster, resCluster, api.ClusterName)
	f.az.grant("User:alice", opCreate, resTopic, "alice-topic")
	innerCode := func(t *testing.T, sender, principal, topic string) int16 {
		t.Helper()
		inner := envelopeCreateTopics(topic)
		e := envelope("client", principal, inner)
		e.ClientHostAddress = []byte{10, 1, 2, 3}
		resp := sendAs(t, f.controllerAddr, sender, e).(*kmsg.EnvelopeResponse)
		if resp.ErrorCode != 0 {
			return resp.ErrorCode
		}
		out, _, err := api.DecodeResponse(inner, resp.ResponseData)
		if err != nil {
			t.Fatal(err)
		}
		return out.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode
	}
	if code := innerCode(t, "broker", "alice", "alice-topic"); code != 0 {
		t.Fatalf("alice creating alice-topic: %v", kerr.ErrorForCode(code))
	}
	if host := f.az.lastHost("User:alice"); host != "10.1.2.3" {
		t.Fatalf("alice was authorized from %q, want the envelope's client address 10.1.2.3", host)
	}
	if code := innerCode(t, "broker", "alice", "other-topic"); code != kerr.TopicAuthorizationFailed.Code {
		t.Fatalf("alice creating other-topic: %v, want TOPIC_AUTHORIZATION_FAILED", kerr.ErrorForCode(code))
	}
	if code := innerCode(t, "broker", "mallory", "alice-topic"); code != kerr.TopicAuthorizationFailed.Code {
		t.Fatalf("mallory creating alice-topic: %v, want TOPIC_AUTHORIZATION_FAILED", kerr.ErrorForCode(code))
	}
	// alice may create alice-topic, but cannot forward: the sender needs ClusterAction.
	if code := innerCode(t, "alice", "alice", "alice-topic2"); code != kerr.ClusterAuthorizationFailed.Code {
		t.Fatalf("envelope sent by alice: %v, want CLUSTER_AUTHORIZATION_FAILED", kerr.ErrorForCode(code))
	}
}

// TestMetadataAuthorizationDetails: what a refused topic discloses (by name: no id; by id:
// no name) and the authorized-operations fields.
func TestMetadataAuthorizationDetails(t *testing.T) {
	f := startAuthzFixture(t)
	id := f.createTopic("secret", 1, nil)
	f.createTopic("open", 1, nil)
	f.az.grant("User:bob", opDescribe, resTopic, "open")
	f.az.grant("User:bob", opRead, resTopic, "open")
	f.az.grant("User:bob", opDescribe, resCluster, api.ClusterName)
	r := v(kmsg.NewPtrMetadataRequest(), 10)
	r.IncludeClusterAuthorizedOperations, r.IncludeTopicAuthorizedOperations = true, true
	r.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("secret")}, {Topic: kmsg.StringPtr("open")}}
	resp := sendAs(t, f.brokerAddr, "bob", r).(*kmsg.MetadataResponse)
	secret, open := resp.Topics[0], resp.Topics[1]
	if secret.ErrorCode != kerr.TopicAuthorizationFailed.Code || secret.TopicID != ([16]byte{}) || len(secret.Partitions) != 0 {
		t.Errorf("secret by name: code %d, id %x, %d partitions; want TOPIC_AUTHORIZATION_FAILED, zero id, none", secret.ErrorCode, secret.TopicID, len(secret.Partitions))
	}
	if want := int32(1<<opRead | 1<<opDescribe); open.ErrorCode != 0 || open.AuthorizedOperations != want {
		t.Errorf("open: code %d, authorized operations %b, want 0 and %b", open.ErrorCode, open.AuthorizedOperations, want)
	}
	if want := int32(1 << opDescribe); resp.AuthorizedOperations != want {
		t.Errorf("cluster authorized operations %b, want %b", resp.AuthorizedOperations, want)
	}
	r = v(kmsg.NewPtrMetadataRequest(), 12)
	r.Topics = []kmsg.MetadataRequestTopic{{TopicID: id}}
	resp = sendAs(t, f.brokerAddr, "bob", r).(*kmsg.MetadataResponse)
	if got := resp.Topics[0]; got.ErrorCode != kerr.TopicAuthorizationFailed.Code || got.Topic != nil || got.TopicID != id {
		t.Errorf("secret by id: code %d, name %v, id %x; want TOPIC_AUTHORIZATION_FAILED, null name, its id", got.ErrorCode, got.Topic, got.TopicID)
	}
	r = v(kmsg.NewPtrMetadataRequest(), 12)
	resp = sendAs(t, f.brokerAddr, "bob", r).(*kmsg.MetadataResponse)
	if len(resp.Topics) != 1 || *resp.Topics[0].Topic != "open" {
		t.Errorf("all topics as bob: %d topics, want only open", len(resp.Topics))
	}
}

// TestClientsSeeAuthorizationErrors: franz-go, as a principal without ACLs and then with
// them, producing and consuming through the real server.
func TestClientsSeeAuthorizationErrors(t *testing.T) {
	f := startAuthzFixture(t)
	f.createTopic("orders", 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client := func(user string) *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(f.brokerAddr), kgo.ClientID(user), kgo.DisableIdempotentWrite(),
			kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	err := client("carol").ProduceSync(ctx, &kgo.Record{Topic: "orders", Value: []byte("x")}).FirstErr()
	if !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("carol without ACLs produced: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	f.az.grant("User:dave", opDescribe, resTopic, "orders")
	f.az.grant("User:dave", opWrite, resTopic, "orders")
	f.az.grant("User:dave", opRead, resTopic, "orders")
	dave := client("dave")
	if err := dave.ProduceSync(ctx, &kgo.Record{Topic: "orders", Value: []byte("y")}).FirstErr(); err != nil {
		t.Fatalf("dave with Write produced: %v", err)
	}
	fetches := dave.PollFetches(ctx)
	if err := fetches.Err(); err != nil {
		t.Fatalf("dave with Read consumed: %v", err)
	}
	if recs := fetches.Records(); len(recs) != 1 || string(recs[0].Value) != "y" {
		t.Fatalf("dave consumed %d records, want the one he produced", len(recs))
	}
}

// TestIdempotentProducerWithTheACLAuthorizer: with the real ACL authorizer, an idempotent
// producer that may Write some topic initializes without IDEMPOTENT_WRITE on the cluster
// (KIP-679), and one with no ACL at all is refused CLUSTER_AUTHORIZATION_FAILED.
func TestIdempotentProducerWithTheACLAuthorizer(t *testing.T) {
	f := startAuthzFixture(t)
	az, err := acl.New(acl.Options{SuperUsers: adminPrincipal})
	if err != nil {
		t.Fatal(err)
	}
	var _ api.ResourceTypeAuthorizer = az
	img := f.apply([]metadata.Record{&metadata.AccessControlEntryRecord{ID: metadata.ACLID{15: 1},
		ResourceType: int8(resTopic), ResourceName: "orders-", PatternType: metadata.ACLPatternPrefixed,
		Principal: "User:writer", Host: "*", Operation: int8(opWrite), Permission: metadata.ACLPermissionAllow}})
	az.Update(img)
	f.az.delegate(az) // the fixture's servers hold the test authorizer; it hands every check on
	for _, tc := range []struct {
		user string
		want int16
	}{{"writer", 0}, {"nobody", kerr.ClusterAuthorizationFailed.Code}} {
		resp := sendAs(t, f.brokerAddr, tc.user, initIdempotent(f, "")).(*kmsg.InitProducerIDResponse)
		if resp.ErrorCode != tc.want {
			t.Errorf("%s: %v, want %v", tc.user, kerr.ErrorForCode(resp.ErrorCode), kerr.ErrorForCode(tc.want))
		}
	}
}

// TestSASLPrincipalsAreAuthorized: the principal a SASL/PLAIN login establishes is the one
// the handlers authorize, with the real ACL authorizer: franz-go as alice (Write and Read on
// orders) produces and consumes; as bob (no ACL) it is refused TOPIC_AUTHORIZATION_FAILED.
func TestSASLPrincipalsAreAuthorized(t *testing.T) {
	b := startBroker(t)
	b.createTopic("orders", 1, nil)
	az, err := acl.New(acl.Options{SuperUsers: adminPrincipal})
	if err != nil {
		t.Fatal(err)
	}
	var recs []metadata.Record
	for i, op := range []kmsg.ACLOperation{opWrite, opRead} {
		recs = append(recs, &metadata.AccessControlEntryRecord{ID: metadata.ACLID{15: byte(i + 1)},
			ResourceType: int8(resTopic), ResourceName: "orders", PatternType: metadata.ACLPatternLiteral,
			Principal: "User:alice", Host: "*", Operation: int8(op), Permission: metadata.ACLPermissionAllow})
	}
	auth, err := sasl.New(sasl.Config{Mechanisms: []string{sasl.Plain}, PlainUsers: map[string]string{"alice": "alice-secret", "bob": "bob-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	env := *b.env
	env.Authorizer = az
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Env: &env, ListenerName: "SASL_PLAINTEXT", SASL: &server.SASLConfig{Authenticator: auth}})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	host, portText, _ := net.SplitHostPort(ln.Addr().String())
	port, _ := strconv.Atoi(portText)
	hostB, portTextB, _ := net.SplitHostPort(b.addr)
	portB, _ := strconv.Atoi(portTextB)
	az.Update(b.apply(append(recs, &metadata.RegisterBrokerRecord{BrokerID: b.nodeID, Epoch: 2, Endpoints: []metadata.Endpoint{
		{Listener: "PLAINTEXT", Host: hostB, Port: int32(portB)}, {Listener: "SASL_PLAINTEXT", Host: host, Port: int32(port)}}})))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client := func(user string) *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(ln.Addr().String()), kgo.SASL(plain.Auth{User: user, Pass: user + "-secret"}.AsMechanism()),
			kgo.DisableIdempotentWrite(), kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchMaxWait(100*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	if err := client("bob").ProduceSync(ctx, &kgo.Record{Topic: "orders", Value: []byte("x")}).FirstErr(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("bob produced: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	alice := client("alice")
	if err := alice.ProduceSync(ctx, &kgo.Record{Topic: "orders", Value: []byte("y")}).FirstErr(); err != nil {
		t.Fatalf("alice produced: %v", err)
	}
	fetches := alice.PollFetches(ctx)
	if err := fetches.Err(); err != nil {
		t.Fatalf("alice consumed: %v", err)
	}
	if recs := fetches.Records(); len(recs) != 1 || string(recs[0].Value) != "y" {
		t.Fatalf("alice consumed %d records, want the one she produced", len(recs))
	}
}

// envelopeForwarder is a broker's Forwarder that sends Envelopes to the fixture's controller
// listener as User:broker, as cluster.Client does over the network.
type envelopeForwarder struct{ controllerAddr string }

func (envelopeForwarder) ControllerIsLocal() bool { return false }

func (f envelopeForwarder) Envelope(_ context.Context, req *kmsg.EnvelopeRequest) (*kmsg.EnvelopeResponse, error) {
	resp, err := exchange(f.controllerAddr, "broker", req)
	if err != nil {
		return nil, err
	}
	return resp.(*kmsg.EnvelopeResponse), nil
}

// denyAll refuses everything.
type denyAll struct{}

func (denyAll) Authorize(string, string, kmsg.ACLOperation, kmsg.ACLResourceType, string) bool {
	return false
}

// TestForwardedRequestsAuthorizedOnTheController: a CreateTopics sent to a broker that is not
// the controller travels in an Envelope and is authorized once, on the controller, as the
// client's principal: the broker's own authorizer (here refusing everything) is not asked,
// as Kafka's brokers forward without authorizing.
func TestForwardedRequestsAuthorizedOnTheController(t *testing.T) {
	f := startAuthzFixture(t)
	f.az.grant("User:broker", opCluster, resCluster, api.ClusterName)
	f.az.grant("User:alice", opCreate, resTopic, "fwd-topic")
	brokerEnv := *f.env
	brokerEnv.Authorizer, brokerEnv.Forwarder = denyAll{}, envelopeForwarder{f.controllerAddr}
	brokerAddr := serveListener(t, &brokerEnv, "PLAINTEXT", func() {})
	for _, tc := range []struct {
		user string
		want int16
	}{{"bob", kerr.TopicAuthorizationFailed.Code}, {"alice", 0}} {
		resp := sendAs(t, brokerAddr, tc.user, envelopeCreateTopics("fwd-topic")).(*kmsg.CreateTopicsResponse)
		if got := resp.Topics[0].ErrorCode; got != tc.want {
			t.Errorf("%s creating fwd-topic through the broker: %v, want %v", tc.user, kerr.ErrorForCode(got), kerr.ErrorForCode(tc.want))
		}
	}
	if _, ok := f.Image().Topic("fwd-topic"); !ok {
		t.Fatal("fwd-topic was not created")
	}
}

// TestAuthorizationDetails: the finer points of the refusals, each as Kafka answers them.
func TestAuthorizationDetails(t *testing.T) {
	f := startAuthzFixture(t)
	f.createTopic("t", 1, nil)
	setupAuthzState(t, f)

	t.Run("create topics: configs only with DescribeConfigs", func(t *testing.T) {
		f.az.grant("User:c1", opCreate, resTopic, "cfg-topic")
		resp := sendAs(t, f.brokerAddr, "c1", envelopeCreateTopics("cfg-topic")).(*kmsg.CreateTopicsResponse)
		if got := resp.Topics[0]; got.ErrorCode != 0 || got.ConfigErrorCode != kerr.TopicAuthorizationFailed.Code || len(got.Configs) != 0 {
			t.Fatalf("code %d, config code %d, %d configs; want 0, TOPIC_AUTHORIZATION_FAILED, none", got.ErrorCode, got.ConfigErrorCode, len(got.Configs))
		}
	})

	t.Run("delete topics by id: the name only with Describe", func(t *testing.T) {
		id := f.createTopic("by-id", 1, nil)
		r := v(kmsg.NewPtrDeleteTopicsRequest(), 6)
		r.TimeoutMillis, r.Topics = 10000, []kmsg.DeleteTopicsRequestTopic{{TopicID: id}}
		got := sendAs(t, f.brokerAddr, "d1", r).(*kmsg.DeleteTopicsResponse).Topics[0]
		if got.ErrorCode != kerr.TopicAuthorizationFailed.Code || got.Topic != nil || got.TopicID != id {
			t.Fatalf("without Describe: code %d, name %v; want TOPIC_AUTHORIZATION_FAILED, null", got.ErrorCode, got.Topic)
		}
		f.az.grant("User:d2", opDescribe, resTopic, "by-id")
		got = sendAs(t, f.brokerAddr, "d2", r).(*kmsg.DeleteTopicsResponse).Topics[0]
		if got.ErrorCode != kerr.TopicAuthorizationFailed.Code || got.Topic == nil || *got.Topic != "by-id" {
			t.Fatalf("with Describe only: code %d, name %v; want TOPIC_AUTHORIZATION_FAILED, by-id", got.ErrorCode, got.Topic)
		}
	})

	t.Run("add partitions to txn: the others not attempted", func(t *testing.T) {
		f.createTopic("u", 1, nil)
		f.az.grant("User:a1", opWrite, resTxn, "tx")
		f.az.grant("User:a1", opWrite, resTopic, "t")
		r := v(kmsg.NewPtrAddPartitionsToTxnRequest(), 3)
		r.TransactionalID, r.ProducerID = "tx", 999
		r.Topics = []kmsg.AddPartitionsToTxnRequestTopic{{Topic: "t", Partitions: []int32{0}}, {Topic: "u", Partitions: []int32{0}}, {Topic: "missing", Partitions: []int32{0}}}
		f.az.grant("User:a1", opWrite, resTopic, "missing")
		resp := sendAs(t, f.brokerAddr, "a1", r).(*kmsg.AddPartitionsToTxnResponse)
		want := map[string]int16{"t": kerr.OperationNotAttempted.Code, "u": kerr.TopicAuthorizationFailed.Code, "missing": kerr.UnknownTopicOrPartition.Code}
		for _, rt := range resp.Topics {
			if got := rt.Partitions[0].ErrorCode; got != want[rt.Topic] {
				t.Errorf("%s: %v, want %v", rt.Topic, kerr.ErrorForCode(got), kerr.ErrorForCode(want[rt.Topic]))
			}
		}
	})

	t.Run("offset fetch of all topics leaves out the undescribable", func(t *testing.T) {
		f.az.grant("User:o1", opDescribe, resGroup, "g")
		r := v(kmsg.NewPtrOffsetFetchRequest(), 8)
		r.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g"}} // null topics: all
		g := sendAs(t, f.brokerAddr, "o1", r).(*kmsg.OffsetFetchResponse).Groups[0]
		if g.ErrorCode != 0 || len(g.Topics) != 0 {
			t.Fatalf("without Describe on t: code %d, %d topics; want 0 and none", g.ErrorCode, len(g.Topics))
		}
		f.az.grant("User:o1", opDescribe, resTopic, "t")
		g = sendAs(t, f.brokerAddr, "o1", r).(*kmsg.OffsetFetchResponse).Groups[0]
		if g.ErrorCode != 0 || len(g.Topics) != 1 || g.Topics[0].Topic != "t" {
			t.Fatalf("with Describe on t: code %d, topics %v; want t", g.ErrorCode, g.Topics)
		}
	})

	t.Run("a regex subscribes only to describable topics", func(t *testing.T) {
		ra, rb := f.createTopic("ra", 1, nil), f.createTopic("rb", 1, nil)
		f.az.grant("User:r1", opRead, resGroup, "rg")
		f.az.grant("User:r1", opDescribe, resTopic, "ra")
		hb := v(kmsg.NewPtrConsumerGroupHeartbeatRequest(), 1)
		hb.Group, hb.MemberID, hb.MemberEpoch, hb.RebalanceTimeoutMillis = "rg", "r1-member-0000000000", 0, 10000
		hb.SubscribedTopicRegex, hb.Topics = kmsg.StringPtr("r[ab]"), []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		resp := sendAs(t, f.brokerAddr, "r1", hb).(*kmsg.ConsumerGroupHeartbeatResponse)
		if resp.ErrorCode != 0 || resp.Assignment == nil {
			t.Fatalf("join: %v, assignment %v", kerr.ErrorForCode(resp.ErrorCode), resp.Assignment)
		}
		var got [][16]byte
		for _, at := range resp.Assignment.Topics {
			got = append(got, at.TopicID)
		}
		if len(got) != 1 || got[0] != ra {
			t.Fatalf("assigned topic ids %x; want only ra's %x (not rb's %x)", got, [16]byte(ra), [16]byte(rb))
		}
	})

	t.Run("consumer group describe needs its topics", func(t *testing.T) {
		hb := v(kmsg.NewPtrConsumerGroupHeartbeatRequest(), 0)
		hb.Group, hb.MemberEpoch, hb.RebalanceTimeoutMillis = "cg", 0, 10000
		hb.SubscribedTopicNames, hb.Topics = []string{"t"}, []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		if code := sendAs(t, f.brokerAddr, "admin", hb).(*kmsg.ConsumerGroupHeartbeatResponse).ErrorCode; code != 0 {
			t.Fatalf("admin joins cg: %v", kerr.ErrorForCode(code))
		}
		f.az.grant("User:g1", opDescribe, resGroup, "cg")
		r := v(kmsg.NewPtrConsumerGroupDescribeRequest(), 0)
		r.Groups = []string{"cg"}
		g := sendAs(t, f.brokerAddr, "g1", r).(*kmsg.ConsumerGroupDescribeResponse).Groups[0]
		if g.ErrorCode != kerr.TopicAuthorizationFailed.Code || len(g.Members) != 0 {
			t.Fatalf("without Describe on t: code %d, %d members; want TOPIC_AUTHORIZATION_FAILED, none", g.ErrorCode, len(g.Members))
		}
		f.az.grant("User:g1", opDescribe, resTopic, "t")
		g = sendAs(t, f.brokerAddr, "g1", r).(*kmsg.ConsumerGroupDescribeResponse).Groups[0]
		if g.ErrorCode != 0 || len(g.Members) != 1 {
			t.Fatalf("with Describe on t: code %d, %d members; want 0 and 1", g.ErrorCode, len(g.Members))
		}
	})
}
