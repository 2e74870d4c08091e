// Package transform holds the single message transforms and predicates of Kafka Connect and
// Debezium that Sluice's Connect runs, registered by their Java class names:
// ExtractNewRecordState (Debezium's "unwrap"), InsertField, ReplaceField, MaskField, Cast,
// RegexRouter, TimestampRouter, Filter, and the predicates TopicNameMatches, RecordIsTombstone
// and HasHeaderKey. Field transforms work on structs (with schemas) and on maps (schemaless).
package transform

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/connect"
	"github.com/sluicehq/sluice/internal/connect/data"
)

const kafkaPkg = "org.apache.kafka.connect.transforms."

func init() {
	connect.RegisterTransform("io.debezium.transforms.ExtractNewRecordState", func() connect.Transform { return &unwrap{} })
	for _, side := range []string{"Key", "Value"} {
		key := side == "Key"
		connect.RegisterTransform(kafkaPkg+"InsertField$"+side, func() connect.Transform { return &insertField{key: key} })
		connect.RegisterTransform(kafkaPkg+"ReplaceField$"+side, func() connect.Transform { return &replaceField{key: key} })
		connect.RegisterTransform(kafkaPkg+"MaskField$"+side, func() connect.Transform { return &maskField{key: key} })
		connect.RegisterTransform(kafkaPkg+"Cast$"+side, func() connect.Transform { return &cast{key: key} })
	}
	connect.RegisterTransform(kafkaPkg+"RegexRouter", func() connect.Transform { return &regexRouter{} })
	connect.RegisterTransform(kafkaPkg+"TimestampRouter", func() connect.Transform { return &timestampRouter{} })
	connect.RegisterTransform(kafkaPkg+"Filter", func() connect.Transform { return filter{} })
	connect.RegisterPredicate(kafkaPkg+"predicates.TopicNameMatches", func() connect.Predicate { return &topicMatches{} })
	connect.RegisterPredicate(kafkaPkg+"predicates.RecordIsTombstone", func() connect.Predicate { return tombstone{} })
	connect.RegisterPredicate(kafkaPkg+"predicates.HasHeaderKey", func() connect.Predicate { return &hasHeader{} })
}

// side returns the schema and value a field transform works on, and a setter.
func side(r *connect.Record, key bool) (*data.Schema, any, func(*data.Schema, any)) {
	if key {
		return r.KeySchema, r.Key, func(s *data.Schema, v any) { r.KeySchema, r.Key = s, v }
	}
	return r.ValueSchema, r.Value, func(s *data.Schema, v any) { r.ValueSchema, r.Value = s, v }
}

// rebuild makes a struct schema from fields (keeping s's name, version, doc and optionality)
// and a value with vals.
func rebuild(s *data.Schema, fields []data.Field, vals map[string]any) (*data.Schema, *data.Struct, error) {
	ns, err := data.NewStruct(s.Name, fields...)
	if err != nil {
		return nil, nil, err
	}
	ns.Version, ns.Doc, ns.Optional, ns.Parameters = s.Version, s.Doc, s.Optional, s.Parameters
	st := data.NewStructValue(ns)
	for name, v := range vals {
		if err := st.Put(name, v); err != nil {
			return nil, nil, err
		}
	}
	return ns, st, nil
}

// unwrap is Debezium's ExtractNewRecordState: a change event becomes the row's new state.
type unwrap struct {
	dropTombstones bool
	deleteMode     string // drop, rewrite, none
	addFields      []string
}

func (u *unwrap) Configure(cfg map[string]string) error {
	u.dropTombstones = cfg["drop.tombstones"] != "false"
	u.deleteMode = strings.ToLower(cfg["delete.handling.mode"])
	if u.deleteMode == "" {
		u.deleteMode = "drop"
	}
	// Debezium 2.5's combined setting.
	switch strings.ToLower(cfg["delete.tombstone.handling.mode"]) {
	case "drop":
		u.deleteMode, u.dropTombstones = "drop", true
	case "tombstone":
		u.deleteMode, u.dropTombstones = "drop", false
	case "rewrite":
		u.deleteMode, u.dropTombstones = "rewrite", true
	case "rewrite-with-tombstone":
		u.deleteMode, u.dropTombstones = "rewrite", false
	case "":
	default:
		return fmt.Errorf("delete.tombstone.handling.mode %q", cfg["delete.tombstone.handling.mode"])
	}
	switch u.deleteMode {
	case "drop", "rewrite", "none":
	default:
		return fmt.Errorf("delete.handling.mode %q is not drop, rewrite or none", u.deleteMode)
	}
	u.addFields = connect.SplitList(cfg["add.fields"])
	return nil
}

func (u *unwrap) Apply(r *connect.Record) (*connect.Record, error) {
	if r.Value == nil {
		if u.dropTombstones {
			return nil, nil
		}
		return r, nil
	}
	env, ok := r.Value.(*data.Struct)
	if !ok || env.Schema().Type != data.TypeStruct {
		return r, nil
	}
	if _, isEnv := env.Schema().Field("after"); !isEnv {
		return r, nil // not a change event (a heartbeat, say): passed on
	}
	op, _ := env.Get("op").(string)
	state, _ := env.Get("after").(*data.Struct)
	switch op {
	case "t":
		return nil, nil // a truncate has no row state
	case "d":
		switch u.deleteMode {
		case "drop":
			return nil, nil
		case "none":
			r.ValueSchema, r.Value = nil, nil
			return r, nil
		}
		state, _ = env.Get("before").(*data.Struct)
	}
	if state == nil {
		return nil, nil
	}
	fields := append([]data.Field(nil), state.Schema().Fields...)
	vals := map[string]any{}
	for i, f := range state.Schema().Fields {
		vals[f.Name] = state.GetAt(i)
	}
	add := func(name string, s *data.Schema, v any) {
		fields = append(fields, data.F(name, s))
		vals[name] = v
	}
	for _, f := range u.addFields {
		var v any
		var s *data.Schema
		if rest, ok := strings.CutPrefix(f, "source."); ok {
			if src, ok := env.Get("source").(*data.Struct); ok {
				if fd, ok := src.Schema().Field(rest); ok {
					v, s = src.Get(rest), fd.Schema.AsOptional()
				}
			}
			f = "source_" + rest
		} else if fd, ok := env.Schema().Field(f); ok && fd.Schema.Type.Primitive() {
			v, s = env.Get(f), fd.Schema.AsOptional()
		} else if src, ok := env.Get("source").(*data.Struct); ok {
			if fd, ok := src.Schema().Field(f); ok {
				v, s = src.Get(f), fd.Schema.AsOptional()
			}
		}
		if s == nil {
			return nil, fmt.Errorf("add.fields: %q is neither a field of the event nor of its source", f)
		}
		add("__"+f, s, v)
	}
	if u.deleteMode == "rewrite" {
		add("__deleted", data.OptionalStringSchema, strconv.FormatBool(op == "d"))
	}
	ns, st, err := rebuild(state.Schema(), fields, vals)
	if err != nil {
		return nil, err
	}
	r.ValueSchema, r.Value = ns, st
	return r, nil
}

// insertField adds the record's topic, partition, offset, timestamp or a static value.
type insertField struct {
	key                                    bool
	topic, partition, offset, ts, static   string
	staticValue                            string
	topicOpt, partOpt, offOpt, tsOpt, sOpt bool
}

// fieldSpec reads "name" or "name!" (required) or "name?" (optional, the default).
func fieldSpec(v string) (string, bool) {
	if n, ok := strings.CutSuffix(v, "!"); ok {
		return n, false
	}
	return strings.TrimSuffix(v, "?"), true
}

func (t *insertField) Configure(cfg map[string]string) error {
	t.topic, t.topicOpt = fieldSpec(cfg["topic.field"])
	t.partition, t.partOpt = fieldSpec(cfg["partition.field"])
	t.offset, t.offOpt = fieldSpec(cfg["offset.field"])
	t.ts, t.tsOpt = fieldSpec(cfg["timestamp.field"])
	t.static, t.sOpt = fieldSpec(cfg["static.field"])
	t.staticValue = cfg["static.value"]
	if t.topic == "" && t.partition == "" && t.offset == "" && t.ts == "" && t.static == "" {
		return fmt.Errorf("no field to insert: set topic.field, partition.field, offset.field, timestamp.field or static.field")
	}
	return nil
}

func (t *insertField) Apply(r *connect.Record) (*connect.Record, error) {
	s, v, set := side(r, t.key)
	type add struct {
		name   string
		schema *data.Schema
		value  any
	}
	var adds []add
	opt := func(s *data.Schema, o bool) *data.Schema {
		if o {
			return s.AsOptional()
		}
		return s
	}
	if t.topic != "" {
		adds = append(adds, add{t.topic, opt(data.StringSchema, t.topicOpt), r.Topic})
	}
	if t.partition != "" && r.Partition >= 0 {
		adds = append(adds, add{t.partition, opt(data.Int32Schema, t.partOpt), r.Partition})
	}
	if t.offset != "" && r.Offset >= 0 {
		adds = append(adds, add{t.offset, opt(data.Int64Schema, t.offOpt), r.Offset})
	}
	if t.ts != "" && r.Timestamp > 0 {
		adds = append(adds, add{t.ts, opt(data.TimestampSchema, t.tsOpt), time.UnixMilli(r.Timestamp).UTC()})
	}
	if t.static != "" {
		adds = append(adds, add{t.static, opt(data.StringSchema, t.sOpt), t.staticValue})
	}
	switch v := v.(type) {
	case nil:
		return r, nil // a tombstone stays one
	case map[any]any:
		for _, a := range adds {
			v[a.name] = a.value
		}
		return r, nil
	case *data.Struct:
		fields := append([]data.Field(nil), s.Fields...)
		vals := map[string]any{}
		for i, f := range s.Fields {
			vals[f.Name] = v.GetAt(i)
		}
		for _, a := range adds {
			fields = append(fields, data.F(a.name, a.schema))
			vals[a.name] = a.value
		}
		ns, st, err := rebuild(s, fields, vals)
		if err != nil {
			return nil, err
		}
		set(ns, st)
		return r, nil
	}
	return nil, fmt.Errorf("InsertField works on structs and maps, not %T", v)
}

// replaceField keeps (include), drops (exclude) and renames fields.
type replaceField struct {
	key              bool
	include, exclude map[string]bool
	renames          map[string]string
}

func (t *replaceField) Configure(cfg map[string]string) error {
	t.include, t.exclude, t.renames = map[string]bool{}, map[string]bool{}, map[string]string{}
	inc, exc := cfg["include"], cfg["exclude"]
	if inc == "" {
		inc = cfg["whitelist"]
	}
	if exc == "" {
		exc = cfg["blacklist"]
	}
	for _, f := range connect.SplitList(inc) {
		t.include[f] = true
	}
	for _, f := range connect.SplitList(exc) {
		t.exclude[f] = true
	}
	for _, r := range connect.SplitList(cfg["renames"]) {
		from, to, ok := strings.Cut(r, ":")
		if !ok || from == "" || to == "" {
			return fmt.Errorf("renames: %q is not old:new", r)
		}
		t.renames[from] = to
	}
	return nil
}

func (t *replaceField) keep(name string) bool {
	return !t.exclude[name] && (len(t.include) == 0 || t.include[name])
}

func (t *replaceField) rename(name string) string {
	if n, ok := t.renames[name]; ok {
		return n
	}
	return name
}

func (t *replaceField) Apply(r *connect.Record) (*connect.Record, error) {
	s, v, set := side(r, t.key)
	switch v := v.(type) {
	case nil:
		return r, nil
	case map[any]any:
		out := map[any]any{}
		for k, x := range v {
			if name, ok := k.(string); ok {
				if t.keep(name) {
					out[t.rename(name)] = x
				}
			} else {
				out[k] = x
			}
		}
		set(nil, out)
		return r, nil
	case *data.Struct:
		var fields []data.Field
		vals := map[string]any{}
		for i, f := range s.Fields {
			if !t.keep(f.Name) {
				continue
			}
			n := t.rename(f.Name)
			fields = append(fields, data.F(n, f.Schema))
			vals[n] = v.GetAt(i)
		}
		ns, st, err := rebuild(s, fields, vals)
		if err != nil {
			return nil, err
		}
		set(ns, st)
		return r, nil
	}
	return nil, fmt.Errorf("ReplaceField works on structs and maps, not %T", v)
}

// maskField replaces fields by their type's empty value, or by replacement.
type maskField struct {
	key         bool
	fields      map[string]bool
	replacement string
}

func (t *maskField) Configure(cfg map[string]string) error {
	t.fields = map[string]bool{}
	for _, f := range connect.SplitList(cfg["fields"]) {
		t.fields[f] = true
	}
	if len(t.fields) == 0 {
		return fmt.Errorf("fields: name at least one field to mask")
	}
	t.replacement = cfg["replacement"]
	return nil
}

func (t *maskField) masked(s *data.Schema, v any) (any, error) {
	typ := data.TypeString
	if s != nil {
		typ = s.Type
	} else {
		switch v.(type) {
		case int64:
			typ = data.TypeInt64
		case float64:
			typ = data.TypeFloat64
		case bool:
			typ = data.TypeBoolean
		}
	}
	if t.replacement != "" {
		switch typ {
		case data.TypeString:
			return t.replacement, nil
		case data.TypeInt8, data.TypeInt16, data.TypeInt32, data.TypeInt64:
			n, err := strconv.ParseInt(t.replacement, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("replacement %q for a %v field", t.replacement, typ)
			}
			return castNumber(n, typ), nil
		}
	}
	switch typ {
	case data.TypeInt8, data.TypeInt16, data.TypeInt32, data.TypeInt64:
		return castNumber(0, typ), nil
	case data.TypeFloat32:
		return float32(0), nil
	case data.TypeFloat64:
		return float64(0), nil
	case data.TypeBoolean:
		return false, nil
	case data.TypeBytes:
		return []byte{}, nil
	case data.TypeArray:
		return []any{}, nil
	case data.TypeMap:
		return map[any]any{}, nil
	}
	return "", nil
}

func castNumber(n int64, t data.Type) any {
	switch t {
	case data.TypeInt8:
		return int8(n)
	case data.TypeInt16:
		return int16(n)
	case data.TypeInt32:
		return int32(n)
	}
	return n
}

func (t *maskField) Apply(r *connect.Record) (*connect.Record, error) {
	s, v, set := side(r, t.key)
	switch v := v.(type) {
	case nil:
		return r, nil
	case map[any]any:
		for k := range v {
			if name, ok := k.(string); ok && t.fields[name] {
				m, err := t.masked(nil, v[k])
				if err != nil {
					return nil, err
				}
				v[k] = m
			}
		}
		return r, nil
	case *data.Struct:
		vals := map[string]any{}
		for i, f := range s.Fields {
			vals[f.Name] = v.GetAt(i)
			if t.fields[f.Name] && v.GetAt(i) != nil {
				m, err := t.masked(f.Schema, v.GetAt(i))
				if err != nil {
					return nil, err
				}
				vals[f.Name] = m
			}
		}
		ns, st, err := rebuild(s, s.Fields, vals)
		if err != nil {
			return nil, err
		}
		set(ns, st)
		return r, nil
	}
	return nil, fmt.Errorf("MaskField works on structs and maps, not %T", v)
}

// regexRouter renames topics matching regex to replacement ($1 refers to groups, as Java's).
type regexRouter struct {
	re          *regexp.Regexp
	replacement string
}

var javaGroup = regexp.MustCompile(`\$(\d+)`)

func (t *regexRouter) Configure(cfg map[string]string) error {
	var err error
	if t.re, err = regexp.Compile("^(?:" + cfg["regex"] + ")$"); err != nil || cfg["regex"] == "" {
		return fmt.Errorf("regex %q: %v", cfg["regex"], err)
	}
	t.replacement = javaGroup.ReplaceAllString(cfg["replacement"], "$${$1}")
	return nil
}

func (t *regexRouter) Apply(r *connect.Record) (*connect.Record, error) {
	if t.re.MatchString(r.Topic) {
		r.Topic = t.re.ReplaceAllString(r.Topic, t.replacement)
	}
	return r, nil
}

// timestampRouter renames the topic by topic.format with ${topic} and ${timestamp} (formatted by
// timestamp.format, a Java SimpleDateFormat pattern of y, M, d, H, m, s).
type timestampRouter struct {
	format, tsLayout string
}

func (t *timestampRouter) Configure(cfg map[string]string) error {
	t.format = cfg["topic.format"]
	if t.format == "" {
		t.format = "${topic}-${timestamp}"
	}
	java := cfg["timestamp.format"]
	if java == "" {
		java = "yyyyMMdd"
	}
	t.tsLayout = strings.NewReplacer("yyyy", "2006", "yy", "06", "MM", "01", "dd", "02", "HH", "15", "mm", "04", "ss", "05", "SSS", "000").Replace(java)
	return nil
}

func (t *timestampRouter) Apply(r *connect.Record) (*connect.Record, error) {
	if r.Timestamp <= 0 {
		return nil, fmt.Errorf("TimestampRouter needs a record timestamp")
	}
	ts := time.UnixMilli(r.Timestamp).UTC().Format(t.tsLayout)
	r.Topic = strings.NewReplacer("${topic}", r.Topic, "${timestamp}", ts).Replace(t.format)
	return r, nil
}

// filter drops every record it is applied to (use it with a predicate).
type filter struct{}

func (filter) Configure(map[string]string) error              { return nil }
func (filter) Apply(*connect.Record) (*connect.Record, error) { return nil, nil }

type topicMatches struct{ re *regexp.Regexp }

func (p *topicMatches) Configure(cfg map[string]string) error {
	var err error
	if cfg["pattern"] == "" {
		return fmt.Errorf("pattern is required")
	}
	p.re, err = regexp.Compile("^(?:" + cfg["pattern"] + ")$")
	return err
}
func (p *topicMatches) Test(r *connect.Record) bool { return p.re.MatchString(r.Topic) }

type tombstone struct{}

func (tombstone) Configure(map[string]string) error { return nil }
func (tombstone) Test(r *connect.Record) bool       { return r.Value == nil }

type hasHeader struct{ name string }

func (p *hasHeader) Configure(cfg map[string]string) error {
	if p.name = cfg["name"]; p.name == "" {
		return fmt.Errorf("name is required")
	}
	return nil
}

func (p *hasHeader) Test(r *connect.Record) bool {
	for _, h := range r.Headers {
		if h.Key == p.name {
			return true
		}
	}
	return false
}
