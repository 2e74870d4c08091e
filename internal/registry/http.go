package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/registry/format"
)

// ContentType is what every answer is sent as (Confluent's v1 type).
const ContentType = "application/vnd.schemaregistry.v1+json"

// Handler returns the REST API (Confluent's endpoints, content types and error bodies).
func (s *Service) Handler() http.Handler { return &handler{s: s} }

type handler struct{ s *Service }

// call is one request being answered.
type call struct {
	svc      *Service
	w        http.ResponseWriter
	r        *http.Request
	q        url.Values
	body     []byte
	endpoint string // metrics class
	status   int
	code     int // Confluent error code answered, 0 when none
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	c := &call{svc: h.s, w: w, r: r, q: r.URL.Query(), endpoint: "unknown"}
	defer func() {
		if p := recover(); p != nil {
			h.s.logger.Error("registry: handler panic", "method", r.Method, "path", r.URL.Path, "panic", p)
			c.fail(Errorf(50001, "Internal error"))
		}
		h.s.metrics.observe(c.endpoint, c.status, c.code, time.Since(start))
	}()
	segs, ok := splitPath(r.URL.EscapedPath())
	if !ok {
		c.httpError(http.StatusNotFound)
		return
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if !acceptedContentType(r.Header.Get("Content-Type")) {
			c.httpError(http.StatusUnsupportedMediaType)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.s.maxBody))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				c.fail(&Error{Code: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("Request body larger than %d bytes", h.s.maxBody)})
				return
			}
			c.fail(&Error{Code: http.StatusBadRequest, Message: "Could not read the request body: " + err.Error()})
			return
		}
		c.body = body
	}
	h.route(c, segs)
}

// splitPath splits an escaped path into unescaped segments (so a subject may hold an escaped
// "/"), ignoring a trailing slash.
func splitPath(p string) ([]string, bool) {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil, true
	}
	parts := strings.Split(p, "/")
	for i, part := range parts {
		u, err := url.PathUnescape(part)
		if err != nil {
			return nil, false
		}
		parts[i] = u
	}
	return parts, true
}

func acceptedContentType(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch mt {
	case ContentType, "application/vnd.schemaregistry+json", "application/json", "application/octet-stream":
		return true
	}
	return false
}

func (h *handler) route(c *call, segs []string) {
	n := len(segs)
	switch {
	case n == 0:
		c.endpoint = "root"
		if c.method(http.MethodGet) {
			c.reply(http.StatusOK, map[string]any{})
		}
	case segs[0] == "schemas":
		c.endpoint = "schemas"
		h.routeSchemas(c, segs[1:])
	case segs[0] == "subjects":
		h.routeSubjects(c, segs[1:])
	case segs[0] == "compatibility":
		c.endpoint = "compatibility"
		// /compatibility/subjects/{subject}/versions[/{version}]
		if n < 4 || n > 5 || segs[1] != "subjects" || segs[3] != "versions" {
			c.httpError(http.StatusNotFound)
			return
		}
		if !c.method(http.MethodPost) {
			return
		}
		version := 0
		if n == 5 {
			v, err := parseVersion(segs[4])
			if err != nil {
				c.fail(err)
				return
			}
			version = v
		}
		h.compatibility(c, segs[2], version)
	case segs[0] == "config" && n <= 2:
		c.endpoint = "config"
		subject := ""
		if n == 2 {
			subject = segs[1]
		}
		h.config(c, subject, n == 2)
	case segs[0] == "mode" && n <= 2:
		c.endpoint = "mode"
		subject := ""
		if n == 2 {
			subject = segs[1]
		}
		h.mode(c, subject, n == 2)
	case segs[0] == "contexts" && n == 1:
		c.endpoint = "contexts"
		if c.method(http.MethodGet) && c.synced() {
			c.reply(http.StatusOK, h.s.state.contexts())
		}
	case n == 3 && segs[0] == "v1" && segs[1] == "metadata" && segs[2] == "id":
		c.endpoint = "metadata"
		if c.method(http.MethodGet) {
			c.reply(http.StatusOK, map[string]any{"scope": map[string]any{
				"path": []string{},
				"clusters": map[string]string{
					"kafka-cluster":           h.s.clusterID,
					"schema-registry-cluster": "schema-registry",
				},
			}})
		}
	default:
		c.httpError(http.StatusNotFound)
	}
}

func (h *handler) routeSchemas(c *call, segs []string) {
	switch {
	case len(segs) == 0:
		if c.method(http.MethodGet) {
			h.listSchemas(c)
		}
	case len(segs) == 1 && segs[0] == "types":
		if c.method(http.MethodGet) {
			types := []string{}
			for _, t := range []format.SchemaType{format.JSON, format.Protobuf, format.Avro} {
				if h.s.formats[t] != nil {
					types = append(types, string(t))
				}
			}
			c.reply(http.StatusOK, types)
		}
	case segs[0] == "ids" && len(segs) >= 2 && len(segs) <= 3:
		id, err := strconv.Atoi(segs[1])
		if err != nil || id < 0 {
			c.fail(Errorf(40403, "Schema %s not found", segs[1]))
			return
		}
		what := ""
		if len(segs) == 3 {
			what = segs[2]
		}
		switch what {
		case "", "schema", "subjects", "versions":
		default:
			c.httpError(http.StatusNotFound)
			return
		}
		if c.method(http.MethodGet) {
			h.schemaByID(c, id, what)
		}
	default:
		c.httpError(http.StatusNotFound)
	}
}

func (h *handler) routeSubjects(c *call, segs []string) {
	n := len(segs)
	switch {
	case n == 0:
		c.endpoint = "subjects"
		if c.method(http.MethodGet) {
			h.listSubjects(c)
		}
	case n == 1:
		subject := segs[0]
		switch c.r.Method {
		case http.MethodPost:
			c.endpoint = "lookup"
			h.lookup(c, subject)
		case http.MethodDelete:
			c.endpoint = "delete"
			h.deleteSubject(c, subject)
		default:
			c.endpoint = "subjects"
			c.httpError(http.StatusMethodNotAllowed)
		}
	case n == 2 && segs[1] == "versions":
		subject := segs[0]
		switch c.r.Method {
		case http.MethodGet:
			c.endpoint = "versions"
			h.listVersions(c, subject)
		case http.MethodPost:
			c.endpoint = "register"
			h.register(c, subject)
		default:
			c.endpoint = "versions"
			c.httpError(http.StatusMethodNotAllowed)
		}
	case (n == 3 || n == 4) && segs[1] == "versions":
		subject := segs[0]
		c.endpoint = "versions"
		version, err := parseVersion(segs[2])
		if n == 3 && c.r.Method == http.MethodDelete {
			c.endpoint = "delete"
			if err != nil {
				c.fail(err)
				return
			}
			h.deleteVersion(c, subject, version)
			return
		}
		what := ""
		if n == 4 {
			what = segs[3]
			if what != "schema" && what != "referencedby" {
				c.httpError(http.StatusNotFound)
				return
			}
		}
		if !c.method(http.MethodGet) {
			return
		}
		if err != nil {
			c.fail(err)
			return
		}
		h.getVersion(c, subject, version, what)
	default:
		c.endpoint = "subjects"
		c.httpError(http.StatusNotFound)
	}
}

// parseVersion reads a version path segment: "latest" (or -1) is -1; otherwise 1..2^31-1.
func parseVersion(s string) (int, error) {
	if strings.EqualFold(s, "latest") || s == "-1" {
		return -1, nil
	}
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil || v < 1 {
		return 0, Errorf(42202, "The specified version '%s' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"", s)
	}
	return int(v), nil
}

// The answers.

// schemaJSON is a version as Confluent answers it (schemaType left out for Avro).
type schemaJSON struct {
	Subject    string             `json:"subject"`
	Version    int                `json:"version"`
	ID         int                `json:"id"`
	SchemaType format.SchemaType  `json:"schemaType,omitempty"`
	References []format.Reference `json:"references,omitempty"`
	Metadata   map[string]any     `json:"metadata,omitempty"`
	RuleSet    map[string]any     `json:"ruleSet,omitempty"`
	Schema     string             `json:"schema"`
}

func toJSON(v SchemaValue) schemaJSON {
	t := v.SchemaType
	if t == format.Avro {
		t = ""
	}
	return schemaJSON{Subject: v.Subject, Version: v.Version, ID: v.ID, SchemaType: t,
		References: v.References, Metadata: v.Metadata, RuleSet: v.RuleSet, Schema: v.Schema}
}

func (c *call) boolParam(name string) bool {
	b, _ := strconv.ParseBool(c.q.Get(name))
	return b
}

func (c *call) intParam(name string, def int) int {
	v, err := strconv.Atoi(c.q.Get(name))
	if err != nil {
		return def
	}
	return v
}

// method answers 405 unless the request's method is want.
func (c *call) method(want string) bool {
	if c.r.Method == want {
		return true
	}
	c.httpError(http.StatusMethodNotAllowed)
	return false
}

// synced waits for this node to catch up with _schemas, answering the error if it cannot.
func (c *call) synced() bool {
	return c.ok(c.svc.sync(c.r.Context()))
}

func (c *call) ok(err error) bool {
	if err != nil {
		c.fail(err)
		return false
	}
	return true
}

// decode reads the JSON body into v; unknown fields are ignored, an empty body leaves v zero.
func (c *call) decode(v any) bool {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return true
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		c.fail(&Error{Code: http.StatusBadRequest, Message: "Invalid JSON in the request body: " + err.Error()})
		return false
	}
	return true
}

func (c *call) reply(status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		c.fail(Errorf(50001, "Could not encode the answer: %v", err))
		return
	}
	c.w.Header().Set("Content-Type", ContentType)
	c.w.WriteHeader(status)
	c.status = status
	_, _ = c.w.Write(bytes.TrimRight(buf.Bytes(), "\n"))
}

// replyRaw answers a schema's text as is (the /schema endpoints).
func (c *call) replyRaw(text string) {
	c.w.Header().Set("Content-Type", ContentType)
	c.w.WriteHeader(http.StatusOK)
	c.status = http.StatusOK
	_, _ = io.WriteString(c.w, text)
}

type errorBody struct {
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
}

// fail answers err in Confluent's error body.
func (c *call) fail(err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = Errorf(50001, "Error in the backend data store: %v", err)
	}
	c.code = e.Code
	c.reply(e.Status(), errorBody{ErrorCode: e.Code, Message: e.Message})
	c.code = e.Code
}

// httpError answers a routing error the way Confluent's Jersey does ({"error_code":404,...}).
func (c *call) httpError(status int) {
	c.fail(&Error{Code: status, Message: fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))})
}

// The endpoints.

func (h *handler) listSchemas(c *call) {
	if !c.synced() {
		return
	}
	prefix := c.q.Get("subjectPrefix")
	deleted, latestOnly := c.boolParam("deleted"), c.boolParam("latestOnly")
	all := h.s.state.allVersions()
	var out []schemaJSON
	latest := map[string]int{}
	for _, v := range all {
		if !matchesPrefix(v.Subject, prefix) || (v.Deleted && !deleted) {
			continue
		}
		if latestOnly {
			if i, ok := latest[v.Subject]; ok {
				if out[i].Version < v.Version {
					out[i] = toJSON(v)
				}
				continue
			}
			latest[v.Subject] = len(out)
		}
		out = append(out, toJSON(v))
	}
	slices.SortFunc(out, func(a, b schemaJSON) int {
		if a.Subject != b.Subject {
			return strings.Compare(a.Subject, b.Subject)
		}
		return a.Version - b.Version
	})
	c.reply(http.StatusOK, page(out, c.intParam("offset", 0), c.intParam("limit", -1)))
}

// page applies offset and limit (limit < 1: no limit).
func page[T any](items []T, offset, limit int) []T {
	if items == nil {
		items = []T{}
	}
	if offset > 0 {
		if offset >= len(items) {
			return []T{}
		}
		items = items[offset:]
	}
	if limit > 0 && limit < len(items) {
		items = items[:limit]
	}
	return items
}

func matchesPrefix(subject, prefix string) bool {
	if prefix == "" || prefix == contextWildcard {
		return true
	}
	return strings.HasPrefix(subject, prefix)
}

// lookupID finds the stored versions of id in the subject parameter's context, or else in the
// default context, or else in any context.
func (h *handler) lookupID(c *call, id int) ([]SchemaValue, bool) {
	if subject := c.q.Get("subject"); subject != "" {
		return h.s.state.schemaByID(contextOf(subject), id)
	}
	if uses, ok := h.s.state.schemaByID(DefaultContext, id); ok {
		return uses, true
	}
	for _, ctx := range h.s.state.contextsOfID(id) {
		if uses, ok := h.s.state.schemaByID(ctx, id); ok {
			return uses, true
		}
	}
	return nil, false
}

func (h *handler) schemaByID(c *call, id int, what string) {
	// A schema's text never changes under its id, so an id this node already holds is answered
	// at once (what every deserializer asks, on any node); anything else (not found here yet,
	// the subjects and versions holding it, maxId) waits until this node has read _schemas to
	// its end.
	fast := (what == "" || what == "schema") && !c.boolParam("fetchMaxId")
	uses, ok := h.lookupID(c, id)
	if !fast || !ok {
		if !c.synced() {
			return
		}
		uses, ok = h.lookupID(c, id)
	}
	if !ok {
		c.fail(Errorf(40403, "Schema %d not found", id))
		return
	}
	deleted := c.boolParam("deleted")
	switch what {
	case "":
		v := toJSON(uses[0])
		body := map[string]any{"schema": h.s.formatted(&uses[0], c.q.Get("format"))}
		if v.SchemaType != "" {
			body["schemaType"] = v.SchemaType
		}
		if len(v.References) > 0 {
			body["references"] = v.References
		}
		if v.Metadata != nil {
			body["metadata"] = v.Metadata
		}
		if v.RuleSet != nil {
			body["ruleSet"] = v.RuleSet
		}
		if c.boolParam("fetchMaxId") {
			body["maxId"] = h.s.state.MaxID()
		}
		c.reply(http.StatusOK, body)
	case "schema":
		c.replyRaw(h.s.formatted(&uses[0], c.q.Get("format")))
	case "subjects":
		subjects := []string{}
		for _, u := range uses {
			if (deleted || !u.Deleted) && !slices.Contains(subjects, u.Subject) {
				subjects = append(subjects, u.Subject)
			}
		}
		slices.Sort(subjects)
		c.reply(http.StatusOK, subjects)
	case "versions":
		type subjectVersion struct {
			Subject string `json:"subject"`
			Version int    `json:"version"`
		}
		out := []subjectVersion{}
		for _, u := range uses {
			if deleted || !u.Deleted {
				out = append(out, subjectVersion{u.Subject, u.Version})
			}
		}
		slices.SortFunc(out, func(a, b subjectVersion) int {
			if a.Subject != b.Subject {
				return strings.Compare(a.Subject, b.Subject)
			}
			return a.Version - b.Version
		})
		c.reply(http.StatusOK, out)
	}
}

func (h *handler) listSubjects(c *call) {
	if !c.synced() {
		return
	}
	prefix := c.q.Get("subjectPrefix")
	deleted, deletedOnly := c.boolParam("deleted"), c.boolParam("deletedOnly")
	out := []string{}
	for name, live := range h.s.state.subjectNames() {
		if !matchesPrefix(name, prefix) {
			continue
		}
		if (deletedOnly && !live) || (!deletedOnly && (live || deleted)) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	c.reply(http.StatusOK, page(out, c.intParam("offset", 0), c.intParam("limit", -1)))
}

func (h *handler) listVersions(c *call, subject string) {
	if !c.synced() {
		return
	}
	deleted, deletedOnly := c.boolParam("deleted"), c.boolParam("deletedOnly")
	versions := h.s.state.versions(subject)
	if !hasVersions(versions, deleted || deletedOnly) {
		c.fail(Errorf(40401, "Subject '%s' not found.", subject))
		return
	}
	out := []int{}
	for _, v := range versions {
		if (deletedOnly && v.Deleted) || (!deletedOnly && (deleted || !v.Deleted)) {
			out = append(out, v.Version)
		}
	}
	c.reply(http.StatusOK, out)
}

func (h *handler) getVersion(c *call, subject string, version int, what string) {
	if !c.synced() {
		return
	}
	deleted := c.boolParam("deleted")
	if !hasVersions(h.s.state.versions(subject), deleted) {
		c.fail(Errorf(40401, "Subject '%s' not found.", subject))
		return
	}
	v, ok := h.s.findVersion(subject, version, deleted)
	if !ok {
		c.fail(Errorf(40402, "Version %d not found.", version))
		return
	}
	switch what {
	case "":
		out := toJSON(v)
		out.Schema = h.s.formatted(&v, c.q.Get("format"))
		c.reply(http.StatusOK, out)
	case "schema":
		c.replyRaw(h.s.formatted(&v, c.q.Get("format")))
	case "referencedby":
		ids := []int{}
		for _, r := range h.s.state.referrersOf(subject, v.Version) {
			if !r.Deleted && !slices.Contains(ids, r.ID) {
				ids = append(ids, r.ID)
			}
		}
		c.reply(http.StatusOK, ids)
	}
}

// The writes: each is answered here on the writer, or forwarded to it.

func (h *handler) register(c *call, subject string) {
	var req schemaRequest
	if !c.decode(&req) {
		return
	}
	id, err := h.s.register(c.r.Context(), subject, &req, c.boolParam("normalize"))
	if h.forwarded(c, err) || !c.ok(err) {
		return
	}
	c.reply(http.StatusOK, map[string]int{"id": id})
}

func (h *handler) lookup(c *call, subject string) {
	var req schemaRequest
	if !c.decode(&req) {
		return
	}
	v, err := h.s.lookup(c.r.Context(), subject, &req, c.boolParam("normalize"), c.boolParam("deleted") || c.boolParam("lookupDeletedSchema"))
	if !c.ok(err) {
		return
	}
	c.reply(http.StatusOK, toJSON(v))
}

func (h *handler) deleteSubject(c *call, subject string) {
	versions, err := h.s.deleteSubject(c.r.Context(), subject, c.boolParam("permanent"))
	if h.forwarded(c, err) || !c.ok(err) {
		return
	}
	c.reply(http.StatusOK, versions)
}

func (h *handler) deleteVersion(c *call, subject string, version int) {
	v, err := h.s.deleteVersion(c.r.Context(), subject, version, c.boolParam("permanent"))
	if h.forwarded(c, err) || !c.ok(err) {
		return
	}
	c.reply(http.StatusOK, v)
}

func (h *handler) compatibility(c *call, subject string, version int) {
	var req schemaRequest
	if !c.decode(&req) {
		return
	}
	msgs, err := h.s.checkCompatibility(c.r.Context(), subject, version, &req, c.boolParam("normalize"))
	if !c.ok(err) {
		return
	}
	body := map[string]any{"is_compatible": len(msgs) == 0}
	if c.boolParam("verbose") {
		if msgs == nil {
			msgs = []string{}
		}
		body["messages"] = msgs
	}
	c.reply(http.StatusOK, body)
}

func (h *handler) config(c *call, subject string, subjectLevel bool) {
	ctx := c.r.Context()
	switch c.r.Method {
	case http.MethodGet:
		cfg, err := h.s.getConfig(ctx, subject, c.boolParam("defaultToGlobal"))
		if c.ok(err) {
			c.reply(http.StatusOK, cfg)
		}
	case http.MethodPut:
		var req configRequest
		if !c.decode(&req) {
			return
		}
		out, err := h.s.putConfig(ctx, subject, &req)
		if h.forwarded(c, err) || !c.ok(err) {
			return
		}
		c.reply(http.StatusOK, out)
	case http.MethodDelete:
		cfg, err := h.s.deleteConfig(ctx, subject)
		if h.forwarded(c, err) || !c.ok(err) {
			return
		}
		c.reply(http.StatusOK, cfg)
	default:
		c.httpError(http.StatusMethodNotAllowed)
	}
}

func (h *handler) mode(c *call, subject string, subjectLevel bool) {
	ctx := c.r.Context()
	switch c.r.Method {
	case http.MethodGet:
		m, err := h.s.getMode(ctx, subject, c.boolParam("defaultToGlobal"))
		if c.ok(err) {
			c.reply(http.StatusOK, ModeValue{Mode: m})
		}
	case http.MethodPut:
		var req ModeValue
		if !c.decode(&req) {
			return
		}
		m, err := h.s.putMode(ctx, subject, req.Mode, c.boolParam("force"))
		if h.forwarded(c, err) || !c.ok(err) {
			return
		}
		c.reply(http.StatusOK, ModeValue{Mode: m})
	case http.MethodDelete:
		if !subjectLevel {
			c.httpError(http.StatusMethodNotAllowed)
			return
		}
		m, err := h.s.deleteMode(ctx, subject)
		if h.forwarded(c, err) || !c.ok(err) {
			return
		}
		c.reply(http.StatusOK, ModeValue{Mode: m})
	default:
		c.httpError(http.StatusMethodNotAllowed)
	}
}
