package api

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/security/quota"
)

// Handler answers one request. See the package comment for the contract.
type Handler func(ctx context.Context, env *Env, req *Request) (Response, error)

// API is one registered Kafka API: its key, the versions Sluice serves and the
// handler.
type API struct {
	Key        int16
	MinVersion int16
	MaxVersion int16
	Handle     Handler
	// Listeners are the listeners that serve the API; zero means the broker listener only.
	Listeners Listeners
	// LegacyBelow, when above MinVersion, marks versions MinVersion…LegacyBelow-1 as legacy:
	// versions Kafka 3.9 served and Kafka 4 removed (KIP-896). They are served only while
	// sluice.protocol.legacy.versions.enable is on (VersionGate); with it off the API is
	// served, and advertised by ApiVersions, from LegacyBelow up. Zero: no legacy versions.
	// A handler answers a legacy version as Kafka 3.9 did.
	LegacyBelow int16
	// Forward: the API changes cluster metadata, so only the active controller runs it. On the
	// broker listener of any other node the request travels to the controller inside an
	// Envelope (KIP-590) and the controller's answer is returned as this node's.
	Forward bool
}

// Name is Kafka's name for the API ("Produce", "Fetch", …).
func (a API) Name() string { return kmsg.NameForKey(a.Key) }

// Supports reports whether version is inside the registered range.
func (a API) Supports(version int16) bool {
	return version >= a.MinVersion && version <= a.MaxVersion
}

// registry is filled by init functions of the API files and read-only
// afterwards, so it needs no lock.
var registry = map[int16]API{}

// Register adds an API to the registry. It is called from init functions only;
// a duplicate key, an inverted range, a missing handler or a range kmsg cannot
// encode is a programming error and panics at start-up.
func Register(a API) {
	if _, dup := registry[a.Key]; dup {
		panic(fmt.Sprintf("api: key %d registered twice", a.Key))
	}
	req := kmsg.RequestForKey(a.Key)
	switch {
	case req == nil:
		panic(fmt.Sprintf("api: key %d unknown to kmsg", a.Key))
	case a.Handle == nil:
		panic(fmt.Sprintf("api: key %d has no handler", a.Key))
	case a.MinVersion < 0 || a.MinVersion > a.MaxVersion || a.MaxVersion > req.MaxVersion():
		panic(fmt.Sprintf("api: key %d bad range %d–%d (kmsg max %d)", a.Key, a.MinVersion, a.MaxVersion, req.MaxVersion()))
	case a.LegacyBelow != 0 && (a.LegacyBelow <= a.MinVersion || a.LegacyBelow > a.MaxVersion):
		panic(fmt.Sprintf("api: key %d legacy versions below %d outside %d–%d", a.Key, a.LegacyBelow, a.MinVersion, a.MaxVersion))
	}
	registry[a.Key] = a
}

// Lookup returns the API registered for key.
func Lookup(key int16) (API, bool) {
	a, ok := registry[key]
	return a, ok
}

// APIs returns every registered API ordered by key.
func APIs() []API {
	out := make([]API, 0, len(registry))
	for _, a := range registry {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b API) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// Request is one decoded request with its header and connection.
type Request struct {
	Key           int16
	Version       int16
	CorrelationID int32
	ClientID      *string // nil when the client sent a null client id
	Conn          ConnInfo
	Msg           kmsg.Request // decoded body; its version is Version
	// Size is the request's size in bytes (its frame without the size prefix), which
	// producer_byte_rate counts as Kafka does; 0 when not read from a connection.
	Size int
}

// ConnInfo describes the connection a request arrived on.
type ConnInfo struct {
	Listener string // listener name, e.g. "PLAINTEXT"
	// Principal is the authenticated principal as "Type:Name"; empty means User:ANONYMOUS.
	// A request forwarded in an Envelope carries the principal of the client's broker.
	Principal string
	Local     net.Addr
	Remote    net.Addr
	// Host is Remote's IP as text, what ACL hosts match (RemoteHost), set once per connection
	// so that authorizing a request allocates nothing; empty: derived from Remote.
	Host string
	// Closed is closed when the connection has ended (nil for requests not read from a
	// connection, such as forwarded ones). The controller watches its brokers' heartbeat
	// connections with it.
	Closed <-chan struct{}
	// Quotas caches the connection's client quota sensors (nil for requests not read from a
	// connection: they are resolved each time).
	Quotas *quota.ConnQuotas
}

// Response is a handler's answer.
type Response struct {
	// Msg is the response body. Nil means no response is written (Produce
	// with acks=0); the server then moves on to the next request.
	Msg kmsg.Response
	// Splices are the record sets written in place of their placeholders in
	// Msg, in the order the placeholders appear in Msg's encoding.
	Splices []Splice
	// Release, if set, is called exactly once after the response has been
	// written or abandoned (for example to release segment references).
	Release func()
	// Finish, if set, completes the request off the read loop: the server
	// calls it on its own goroutine and writes what it returns (whose own
	// Finish is ignored). Msg, Splices and Release of a Response carrying
	// Finish are ignored. ctx is canceled when the connection closes or the
	// server shuts down: a long poll then answers with what it has.
	Finish func(ctx context.Context) (Response, error)
	// Throttle, if set, mutes the connection for that long once the response is written, or
	// from now when there is no response (acks=0 Produce over its quota). A response whose
	// throttle_time_ms is set mutes it as well (the server reads it from Msg).
	Throttle time.Duration
}

// Reply is the Response carrying msg and nothing else.
func Reply(msg kmsg.Response) Response { return Response{Msg: msg} }

// RecordSet is record bytes the server writes to the connection without
// copying them into the response buffer. Storage regions implement it;
// WriteTo uses sendfile when w is a TCP connection and the bytes live in a file.
type RecordSet interface {
	// Len is the exact number of bytes WriteTo writes.
	Len() int64
	// WriteTo writes the record bytes to w.
	WriteTo(w io.Writer) (int64, error)
}

// PlaceholderLen is the length of a Splice placeholder.
const PlaceholderLen = 16

// Splice marks where in a response a record set goes. The handler puts
// Placeholder in the record-set field (FetchResponse partitions'
// RecordBatches); the server finds it in the encoded response, rewrites the
// field's length prefix for Records.Len() bytes and writes the records there.
// Placeholders are random per splice, so nothing a client chose (topic names,
// client ids) can be mistaken for one.
type Splice struct {
	Placeholder []byte
	Records     RecordSet
}

// NewSplice returns a splice for records with a fresh random placeholder.
func NewSplice(records RecordSet) Splice {
	p := make([]byte, PlaceholderLen)
	rand.Read(p) // crypto/rand.Read never returns an error (Go 1.24+)
	return Splice{Placeholder: p, Records: records}
}

// MaxVersion is the highest version of key this build serves, or the highest int16 when it
// does not serve key: what a node of this build sends another at most.
func MaxVersion(key int16) int16 {
	if a, ok := registry[key]; ok {
		return a.MaxVersion
	}
	return 1<<15 - 1
}
