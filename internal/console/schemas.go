package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Schemas: the schema registry's subjects (/schemas), a subject's versions with a diff between
// two (/schemas/{subject}), register, compatibility check and level, deletes. Every call goes
// through c.registryCall as the signed-in user, so the registry decides what each user may do.

// maxSubjectConfigs bounds the per-subject compatibility lookups of /schemas.
const maxSubjectConfigs = 100

// maxSchemaForm bounds a posted schema form.
const maxSchemaForm = 4 << 20

const registryTimeout = 20 * time.Second

// compatibilityLevels are the registry's levels, for the select boxes.
var compatibilityLevels = []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE", "NONE"}

func (c *Console) schemaRoutes(mux *http.ServeMux) {
	if c.opts.RegistryURL == "" {
		return
	}
	mux.HandleFunc("GET /schemas", c.schemaList)
	mux.HandleFunc("POST /schemas", c.schemaRegisterNew)
	mux.HandleFunc("POST /schemas/config", c.schemaGlobalConfig)
	mux.HandleFunc("GET /schemas/{subject}", c.schemaSubject)
	mux.HandleFunc("POST /schemas/{subject}/versions", c.schemaRegister)
	mux.HandleFunc("POST /schemas/{subject}/check", c.schemaCheck)
	mux.HandleFunc("POST /schemas/{subject}/config", c.schemaSubjectConfig)
	mux.HandleFunc("POST /schemas/{subject}/delete", c.schemaDelete)
}

// registeredSchema is a version as the registry answers it.
type registeredSchema struct {
	Subject    string            `json:"subject"`
	Version    int               `json:"version"`
	ID         int               `json:"id"`
	SchemaType string            `json:"schemaType,omitempty"`
	References []schemaReference `json:"references,omitempty"`
	Schema     string            `json:"schema"`
}

type schemaReference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// Type is the schema's type; the registry leaves out AVRO.
func (s registeredSchema) Type() string {
	if s.SchemaType == "" {
		return "AVRO"
	}
	return s.SchemaType
}

// Pretty is the schema's text indented (AVRO and JSON), or as registered.
func (s registeredSchema) Pretty() string { return prettySchema(s.Type(), s.Schema) }

func prettySchema(typ, text string) string {
	if typ == "PROTOBUF" {
		return text
	}
	var buf bytes.Buffer
	if json.Indent(&buf, []byte(text), "", "  ") != nil {
		return text
	}
	return buf.String()
}

type subjectRow struct {
	registeredSchema
	Compatibility string
}

type schemaListData struct {
	Prefix    string
	Subjects  []subjectRow
	Global    string
	Levels    []string
	Truncated bool
	Done      string
}

func (c *Console) schemaList(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	ctx, cancel := context.WithTimeout(r.Context(), registryTimeout)
	defer cancel()
	d := schemaListData{Prefix: strings.TrimSpace(r.URL.Query().Get("prefix")), Levels: compatibilityLevels, Done: r.URL.Query().Get("done")}
	var latest []registeredSchema
	q := url.Values{"latestOnly": {"true"}}
	if d.Prefix != "" {
		q.Set("subjectPrefix", d.Prefix)
	}
	if err := c.registryCall(ctx, s, "GET", "/schemas?"+q.Encode(), nil, &latest); err != nil {
		c.fail(w, r, apiErrStatus(err), "schema registry: "+err.Error())
		return
	}
	var global struct {
		Level string `json:"compatibilityLevel"`
	}
	if err := c.registryCall(ctx, s, "GET", "/config", nil, &global); err == nil {
		d.Global = global.Level
	}
	for i, v := range latest {
		row := subjectRow{registeredSchema: v}
		if i < maxSubjectConfigs {
			row.Compatibility = c.subjectCompatibility(ctx, s, v.Subject)
		} else {
			d.Truncated = true
		}
		d.Subjects = append(d.Subjects, row)
	}
	c.render(w, r, "schemas.html", "Schemas", d)
}

// subjectCompatibility is the subject's own level, "" when it has none (it follows the global).
func (c *Console) subjectCompatibility(ctx context.Context, s *Session, subject string) string {
	var cfg struct {
		Level string `json:"compatibilityLevel"`
	}
	if err := c.registryCall(ctx, s, "GET", "/config/"+url.PathEscape(subject), nil, &cfg); err == nil {
		return cfg.Level
	}
	return ""
}

type versionRow struct {
	Version int
	Deleted bool
}

type schemaCheck struct {
	Draft, Type string
	Compatible  bool
	Messages    []string
	Error       string
}

type schemaSubjectData struct {
	Subject       string
	Versions      []versionRow
	Shown         *registeredSchema
	DiffFrom      int
	DiffTo        int
	Diff          []diffLine
	DiffTruncated bool
	Compatibility string // the subject's own level ("": none)
	Global        string
	Levels        []string
	Check         *schemaCheck
	Done, Error   string
	AllDeleted    bool
}

func (c *Console) schemaSubjectData(ctx context.Context, s *Session, r *http.Request, subject string) (schemaSubjectData, error) {
	q := r.URL.Query()
	d := schemaSubjectData{Subject: subject, Levels: compatibilityLevels, Done: q.Get("done"), Error: q.Get("error")}
	base := "/subjects/" + url.PathEscape(subject) + "/versions"
	var live, all []int
	err := c.registryCall(ctx, s, "GET", base, nil, &live)
	var he *HTTPError
	if err != nil && !(errors.As(err, &he) && he.Status == http.StatusNotFound) {
		return d, err
	}
	if err := c.registryCall(ctx, s, "GET", base+"?deleted=true", nil, &all); err != nil {
		return d, err
	}
	slices.Sort(all)
	for _, v := range all {
		d.Versions = append(d.Versions, versionRow{Version: v, Deleted: !slices.Contains(live, v)})
	}
	d.AllDeleted = len(live) == 0
	d.Compatibility = c.subjectCompatibility(ctx, s, subject)
	var global struct {
		Level string `json:"compatibilityLevel"`
	}
	if c.registryCall(ctx, s, "GET", "/config", nil, &global) == nil {
		d.Global = global.Level
	}
	get := func(v int) (*registeredSchema, error) {
		var rs registeredSchema
		err := c.registryCall(ctx, s, "GET", base+"/"+strconv.Itoa(v)+"?deleted=true", nil, &rs)
		return &rs, err
	}
	show := 0
	if len(all) > 0 {
		show = all[len(all)-1]
		if len(live) > 0 {
			show = slices.Max(live)
		}
	}
	if v, err := strconv.Atoi(q.Get("version")); err == nil {
		show = v
	}
	if show > 0 {
		if d.Shown, err = get(show); err != nil {
			return d, fmt.Errorf("version %d: %w", show, err)
		}
	}
	from, errF := strconv.Atoi(q.Get("diff"))
	to, errT := strconv.Atoi(q.Get("with"))
	if errF == nil && errT == nil {
		a, err := get(from)
		if err != nil {
			return d, fmt.Errorf("version %d: %w", from, err)
		}
		b, err := get(to)
		if err != nil {
			return d, fmt.Errorf("version %d: %w", to, err)
		}
		d.DiffFrom, d.DiffTo = from, to
		d.Diff, d.DiffTruncated = lineDiff(splitLines(a.Pretty()), splitLines(b.Pretty()))
	} else if len(all) > 1 {
		d.DiffFrom, d.DiffTo = all[len(all)-2], all[len(all)-1]
	}
	return d, nil
}

func (c *Console) schemaSubject(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), registryTimeout)
	defer cancel()
	subject := r.PathValue("subject")
	d, err := c.schemaSubjectData(ctx, sessionOf(r), r, subject)
	if err != nil {
		c.fail(w, r, apiErrStatus(err), fmt.Sprintf("subject %s: %v", subject, err))
		return
	}
	c.render(w, r, "schema.html", "Subject "+subject, d)
}

// schemaRequest is a register or compatibility-check body.
type schemaRequest struct {
	Schema     string            `json:"schema"`
	SchemaType string            `json:"schemaType,omitempty"`
	References []schemaReference `json:"references,omitempty"`
}

// parseSchemaForm reads a posted schema: its text, type (AVRO, JSON, PROTOBUF) and optional
// references (a JSON array of {"name", "subject", "version"}).
func parseSchemaForm(schema, typ, refs string) (schemaRequest, error) {
	req := schemaRequest{Schema: strings.TrimSpace(schema), SchemaType: strings.ToUpper(strings.TrimSpace(typ))}
	if req.Schema == "" {
		return req, errors.New("the schema is empty")
	}
	switch req.SchemaType {
	case "", "AVRO":
		req.SchemaType = "" // the registry's default
	case "JSON", "PROTOBUF":
	default:
		return req, fmt.Errorf("schema type %q: choose AVRO, JSON or PROTOBUF", typ)
	}
	if refs = strings.TrimSpace(refs); refs != "" {
		dec := json.NewDecoder(strings.NewReader(refs))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req.References); err != nil {
			return req, fmt.Errorf("references: %v (give a JSON array such as [{\"name\": \"other.avsc\", \"subject\": \"other\", \"version\": 1}])", err)
		}
		for i, ref := range req.References {
			if ref.Name == "" || ref.Subject == "" || ref.Version == 0 {
				return req, fmt.Errorf("reference %d: give its name, subject and version", i+1)
			}
		}
	}
	return req, nil
}

func (c *Console) postedSchema(w http.ResponseWriter, r *http.Request) (schemaRequest, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxSchemaForm)
	if err := r.ParseForm(); err != nil {
		return schemaRequest{}, fmt.Errorf("the form: %v", err)
	}
	return parseSchemaForm(r.PostFormValue("schema"), r.PostFormValue("schemaType"), r.PostFormValue("references"))
}

// subjectRedirect answers POST/redirect/GET to the subject's page with a message.
func subjectRedirect(w http.ResponseWriter, r *http.Request, subject, key, msg string, extra url.Values) {
	q := url.Values{key: {msg}}
	for k, v := range extra {
		q[k] = v
	}
	http.Redirect(w, r, "/schemas/"+url.PathEscape(subject)+"?"+q.Encode(), http.StatusSeeOther)
}

func (c *Console) registerSchema(w http.ResponseWriter, r *http.Request, subject string) {
	ctx, cancel := context.WithTimeout(r.Context(), registryTimeout)
	defer cancel()
	req, err := c.postedSchema(w, r)
	if err == nil {
		var out struct {
			ID int `json:"id"`
		}
		if err = c.registryCall(ctx, sessionOf(r), "POST", "/subjects/"+url.PathEscape(subject)+"/versions", req, &out); err == nil {
			var versions []int
			_ = c.registryCall(ctx, sessionOf(r), "GET", "/subjects/"+url.PathEscape(subject)+"/versions", nil, &versions)
			msg := fmt.Sprintf("registered schema id %d", out.ID)
			extra := url.Values{}
			if len(versions) > 0 {
				v := slices.Max(versions)
				msg = fmt.Sprintf("registered version %d (schema id %d)", v, out.ID)
				extra.Set("version", strconv.Itoa(v))
			}
			subjectRedirect(w, r, subject, "done", msg, extra)
			return
		}
	}
	if subject == "" {
		http.Redirect(w, r, "/schemas?done="+url.QueryEscape("not registered: "+err.Error()), http.StatusSeeOther)
		return
	}
	subjectRedirect(w, r, subject, "error", "not registered: "+err.Error(), nil)
}

func (c *Console) schemaRegister(w http.ResponseWriter, r *http.Request) {
	c.registerSchema(w, r, r.PathValue("subject"))
}

func (c *Console) schemaRegisterNew(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxSchemaForm)
	subject := strings.TrimSpace(r.FormValue("subject"))
	if subject == "" {
		c.fail(w, r, http.StatusBadRequest, "give the new subject's name (for a topic's values: TOPIC-value)")
		return
	}
	c.registerSchema(w, r, subject)
}

// schemaCheck tests a draft against the latest version and shows the registry's messages.
func (c *Console) schemaCheck(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), registryTimeout)
	defer cancel()
	s, subject := sessionOf(r), r.PathValue("subject")
	req, err := c.postedSchema(w, r)
	check := &schemaCheck{Draft: r.PostFormValue("schema"), Type: r.PostFormValue("schemaType")}
	if err == nil {
		var out struct {
			Compatible bool     `json:"is_compatible"`
			Messages   []string `json:"messages"`
		}
		path := "/compatibility/subjects/" + url.PathEscape(subject) + "/versions/latest?verbose=true"
		if err = c.registryCall(ctx, s, "POST", path, req, &out); err == nil {
			check.Compatible, check.Messages = out.Compatible, out.Messages
		}
	}
	if err != nil {
		check.Error = err.Error()
	}
	d, err := c.schemaSubjectData(ctx, s, r, subject)
	if err != nil {
		c.fail(w, r, apiErrStatus(err), fmt.Sprintf("subject %s: %v", subject, err))
		return
	}
	d.Check = check
	c.render(w, r, "schema.html", "Subject "+subject, d)
}

// setCompatibility sets (or, with level "", removes) the subject's or the global level.
func (c *Console) setCompatibility(ctx context.Context, s *Session, path, level string) error {
	if level == "" {
		return c.registryCall(ctx, s, "DELETE", path, nil, nil)
	}
	if !slices.Contains(compatibilityLevels, level) {
		return fmt.Errorf("compatibility %q: choose one of %s", level, strings.Join(compatibilityLevels, ", "))
	}
	return c.registryCall(ctx, s, "PUT", path, map[string]string{"compatibility": level}, nil)
}

func (c *Console) schemaSubjectConfig(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), registryTimeout)
	defer cancel()
	subject, level := r.PathValue("subject"), r.FormValue("compatibility")
	if err := c.setCompatibility(ctx, sessionOf(r), "/config/"+url.PathEscape(subject), level); err != nil {
		subjectRedirect(w, r, subject, "error", "compatibility not changed: "+err.Error(), nil)
		return
	}
	msg := "compatibility of " + subject + " set to " + level
	if level == "" {
		msg = subject + " now follows the global compatibility"
	}
	subjectRedirect(w, r, subject, "done", msg, nil)
}

func (c *Console) schemaGlobalConfig(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), registryTimeout)
	defer cancel()
	level := r.FormValue("compatibility")
	msg := "global compatibility set to " + level
	if level == "" {
		msg = "choose a level"
	} else if err := c.setCompatibility(ctx, sessionOf(r), "/config", level); err != nil {
		msg = "global compatibility not changed: " + err.Error()
	}
	http.Redirect(w, r, "/schemas?done="+url.QueryEscape(msg), http.StatusSeeOther)
}

// schemaDelete deletes a version (version=N) or the subject, soft or (permanent=true, only
// after a soft delete, as the registry requires) for good.
func (c *Console) schemaDelete(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), registryTimeout)
	defer cancel()
	subject := r.PathValue("subject")
	version := strings.TrimSpace(r.FormValue("version"))
	permanent := r.FormValue("permanent") == "true"
	path, what := "/subjects/"+url.PathEscape(subject), "subject "+subject
	if version != "" {
		if _, err := strconv.Atoi(version); err != nil {
			subjectRedirect(w, r, subject, "error", "version "+version+": not a number", nil)
			return
		}
		path, what = path+"/versions/"+version, "version "+version
	}
	if permanent {
		path += "?permanent=true"
	}
	if err := c.registryCall(ctx, sessionOf(r), "DELETE", path, nil, nil); err != nil {
		subjectRedirect(w, r, subject, "error", "not deleted: "+err.Error(), nil)
		return
	}
	how := "soft-deleted"
	if permanent {
		how = "permanently deleted"
	}
	if version == "" && permanent {
		http.Redirect(w, r, "/schemas?done="+url.QueryEscape(how+" "+what), http.StatusSeeOther)
		return
	}
	subjectRedirect(w, r, subject, "done", how+" "+what, nil)
}
