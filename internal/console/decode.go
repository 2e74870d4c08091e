package console

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/sluicehq/sluice/internal/registry/protobuf"
)

// How the message browser shows a key or value: as text, as (pretty) JSON, in hex, or
// decoded through the schema registry (Confluent's wire format: magic byte 0, the schema id
// as 4 bytes big-endian, then for Protobuf the message indexes, then the Avro, JSON or
// Protobuf encoding). auto picks the registry when the bytes start with the magic byte and
// a schema id the registry knows, else JSON when they are JSON, else text when they are
// printable UTF-8, else hex.

const (
	decodeAuto     = "auto"
	decodeText     = "text"
	decodeJSON     = "json"
	decodeHex      = "hex"
	decodeRegistry = "registry"
)

var decodeModes = []string{decodeAuto, decodeText, decodeJSON, decodeHex, decodeRegistry}

func validDecodeMode(m string) bool {
	for _, x := range decodeModes {
		if x == m {
			return true
		}
	}
	return false
}

// maxShown bounds the text of a key or value shown in a page's table (the export has all).
const maxShown = 16 << 10

// decoded is a key or value as the browser shows it.
type decoded struct {
	Null     bool   `json:"null,omitempty"`
	Format   string `json:"format"` // text, json, hex, avro, json-schema, protobuf
	Text     string `json:"text"`
	SchemaID int    `json:"schemaId,omitempty"`
	Note     string `json:"note,omitempty"` // why the chosen decoding did not apply
	Size     int    `json:"size"`
	// Doc is the decoded document (JSON's values) for filters and the export; IsDoc says
	// there is one.
	Doc   any  `json:"-"`
	IsDoc bool `json:"-"`
}

// decoder decodes the keys or values of one request as the session's user.
type decoder struct {
	c    *Console
	s    *Session
	ctx  context.Context
	mode string
	// pretty: indent JSON (the page); else compact (the export, filters).
	pretty bool
}

func (d *decoder) decode(b []byte, null bool) decoded {
	if null {
		return decoded{Null: true, Format: "null"}
	}
	out := decoded{Size: len(b)}
	mode := d.mode
	if mode == decodeAuto || mode == decodeRegistry {
		if id, payload, err := (&sr.ConfluentHeader{}).DecodeID(b); err == nil && d.c.opts.RegistryURL != "" {
			sc, err := d.c.messages().schemas.get(d.ctx, d.c, d.s, id)
			if err == nil {
				if err := d.registry(&out, sc, id, payload); err == nil {
					return out
				} else {
					out.Note = err.Error()
				}
			} else if mode == decodeRegistry {
				out.Note = fmt.Sprintf("schema id %d: %v", id, err)
			}
		} else if mode == decodeRegistry {
			switch {
			case d.c.opts.RegistryURL == "":
				out.Note = "this console has no schema registry"
			default:
				out.Note = "not in the registry's wire format (magic byte 0 and a 4-byte schema id)"
			}
		}
		if mode == decodeRegistry {
			mode = decodeAuto
		}
	}
	switch mode {
	case decodeAuto:
		if doc, ok := docOf(b); ok {
			d.json(&out, b, doc)
		} else if printable(b) {
			out.Format, out.Text = decodeText, string(b)
		} else {
			out.Format, out.Text = decodeHex, hexText(b)
		}
	case decodeJSON:
		if doc, ok := docOf(b); ok {
			d.json(&out, b, doc)
		} else {
			out.Format, out.Text, out.Note = decodeText, strings.ToValidUTF8(string(b), "\uFFFD"), "not JSON"
		}
	case decodeHex:
		out.Format, out.Text = decodeHex, hexText(b)
	default:
		out.Format, out.Text = decodeText, strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return out
}

func (d *decoder) json(out *decoded, b []byte, doc any) {
	out.Format, out.Doc, out.IsDoc = decodeJSON, doc, true
	if !d.pretty {
		out.Text = string(b)
		return
	}
	var buf bytes.Buffer
	if json.Indent(&buf, b, "", "  ") == nil {
		out.Text = buf.String()
	} else {
		out.Text = string(b)
	}
}

// printable reports whether b is UTF-8 text without control characters other than
// whitespace.
func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// hexText is b in hex, 16 bytes a line with offsets.
func hexText(b []byte) string {
	if len(b) > maxShown/3 {
		return hex.Dump(b[:maxShown/3])
	}
	return hex.Dump(b)
}

// registry decodes payload (after the magic byte and id) with the schema.
func (d *decoder) registry(out *decoded, sc *schemaEntry, id int, payload []byte) error {
	var doc any
	switch {
	case sc.avro != nil:
		var v any
		if err := safely(func() error { return avroAPI.Unmarshal(sc.avro, payload, &v) }); err != nil {
			return fmt.Errorf("Avro schema id %d: %w", id, err)
		}
		out.Format = "avro"
		doc = jsonable(v, 0)
	case sc.json:
		v, ok := docOf(payload)
		if !ok {
			return fmt.Errorf("JSON Schema id %d: the payload is not JSON", id)
		}
		out.Format, doc = "json-schema", v
	case sc.proto != nil:
		index, rest, err := (&sr.ConfluentHeader{}).DecodeIndex(payload, 64)
		if err != nil {
			return fmt.Errorf("Protobuf schema id %d: the message indexes: %w", id, err)
		}
		md, err := protoMessage(sc.proto, index)
		if err != nil {
			return fmt.Errorf("Protobuf schema id %d: %w", id, err)
		}
		m := dynamicpb.NewMessage(md)
		if err := safely(func() error { return proto.UnmarshalOptions{RecursionLimit: 64}.Unmarshal(rest, m) }); err != nil {
			return fmt.Errorf("Protobuf schema id %d: %w", id, err)
		}
		js, err := protojson.Marshal(m)
		if err != nil {
			return fmt.Errorf("Protobuf schema id %d: %w", id, err)
		}
		v, _ := docOf(js)
		out.Format, doc = "protobuf", v
	default:
		return fmt.Errorf("schema id %d: an unknown schema type", id)
	}
	out.SchemaID, out.Doc, out.IsDoc = id, doc, true
	var text []byte
	var err error
	if d.pretty {
		text, err = json.MarshalIndent(doc, "", "  ")
	} else {
		text, err = json.Marshal(doc)
	}
	if err != nil {
		return fmt.Errorf("schema id %d: %w", id, err)
	}
	out.Text = string(text)
	return nil
}

// avroAPI decodes Avro with bounds on what one record may allocate.
var avroAPI = avro.Config{MaxByteSliceSize: 16 << 20, MaxSliceAllocSize: 1 << 20}.Freeze()

// safely runs fn, turning a panic of a decoder fed hostile bytes into an error.
func safely(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed data: %v", r)
		}
	}()
	return fn()
}

// jsonable turns what hamba/avro decodes into values encoding/json writes as Avro's JSON
// would show them: bytes as text when UTF-8 (else hex), times as RFC 3339, maps with
// string keys.
func jsonable(v any, depth int) any {
	if depth > 64 {
		return nil
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e, depth+1)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = jsonable(e, depth+1)
		}
		return x
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return hex.EncodeToString(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case time.Duration:
		return x.String()
	case float32, float64, int, int32, int64, bool, string, nil:
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return string(b)
	}
	return out
}

func protoMessage(fd protoreflect.FileDescriptor, index []int) (protoreflect.MessageDescriptor, error) {
	if len(index) == 0 {
		index = []int{0}
	}
	var md protoreflect.MessageDescriptor
	msgs := fd.Messages()
	for _, i := range index {
		if i < 0 || i >= msgs.Len() {
			return nil, fmt.Errorf("message index %v is not in the schema", index)
		}
		md = msgs.Get(i)
		msgs = md.Messages()
	}
	return md, nil
}

// The schemas by id, cached per session (a user sees only the schemas the registry lets
// them read) and bounded: emptied when full (one entry per schema in use).

const maxSchemas = 256

type schemaEntry struct {
	avro  avro.Schema
	json  bool
	proto protoreflect.FileDescriptor
	err   error // the registry's refusal, remembered so that bytes like a header cost one call
	at    time.Time
}

type schemaKey struct {
	s  *Session
	id int
}

type schemaCache struct {
	mu sync.Mutex
	m  map[schemaKey]*schemaEntry
}

// errSchemaNotFound: the registry knows no schema with that id (or does not let the user see it).
var errSchemaNotFound = errors.New("console: no such schema")

func (sc *schemaCache) get(ctx context.Context, c *Console, s *Session, id int) (*schemaEntry, error) {
	k := schemaKey{s, id}
	sc.mu.Lock()
	e, ok := sc.m[k]
	sc.mu.Unlock()
	if ok && (e.err == nil || time.Since(e.at) < 30*time.Second) {
		return e, e.err
	}
	e = loadSchema(ctx, c, s, id)
	sc.mu.Lock()
	if sc.m == nil || len(sc.m) >= maxSchemas {
		sc.m = make(map[schemaKey]*schemaEntry)
	}
	sc.m[k] = e
	sc.mu.Unlock()
	return e, e.err
}

type registrySchema struct {
	Schema     string `json:"schema"`
	SchemaType string `json:"schemaType"`
	References []struct {
		Name    string `json:"name"`
		Subject string `json:"subject"`
		Version int    `json:"version"`
	} `json:"references"`
}

func loadSchema(ctx context.Context, c *Console, s *Session, id int) *schemaEntry {
	e := &schemaEntry{at: time.Now()}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var rs registrySchema
	if err := c.registryCall(ctx, s, "GET", "/schemas/ids/"+strconv.Itoa(id), nil, &rs); err != nil {
		var he *HTTPError
		if errors.As(err, &he) && he.Status == 404 {
			err = fmt.Errorf("%w: %v", errSchemaNotFound, he)
		}
		e.err = err
		return e
	}
	switch strings.ToUpper(rs.SchemaType) {
	case "", "AVRO":
		a, err := avro.ParseWithCache(rs.Schema, "", &avro.SchemaCache{})
		if err != nil {
			e.err = fmt.Errorf("Avro schema id %d: %w", id, err)
		}
		e.avro = a
	case "JSON":
		e.json = true
	case "PROTOBUF":
		deps := map[string]string{}
		if err := protoReferences(ctx, c, s, rs, deps, 0); err != nil {
			e.err = err
			return e
		}
		fd, err := protobuf.Compile(rs.Schema, deps)
		if err != nil {
			e.err = fmt.Errorf("Protobuf schema id %d: %w", id, err)
		}
		e.proto = fd
	default:
		e.err = fmt.Errorf("schema id %d has the unknown type %q", id, rs.SchemaType)
	}
	return e
}

// protoReferences fetches the texts of a Protobuf schema's references (and theirs) by import name.
func protoReferences(ctx context.Context, c *Console, s *Session, rs registrySchema, deps map[string]string, depth int) error {
	if depth > 16 {
		return errors.New("schema references nested more than 16 deep")
	}
	for _, ref := range rs.References {
		if _, ok := deps[ref.Name]; ok {
			continue
		}
		var sub registrySchema
		path := "/subjects/" + url.PathEscape(ref.Subject) + "/versions/" + strconv.Itoa(ref.Version)
		if err := c.registryCall(ctx, s, "GET", path, nil, &sub); err != nil {
			return fmt.Errorf("reference %s (%s version %d): %w", ref.Name, ref.Subject, ref.Version, err)
		}
		deps[ref.Name] = sub.Schema
		if err := protoReferences(ctx, c, s, sub, deps, depth+1); err != nil {
			return err
		}
	}
	return nil
}
