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

// Connectors: Kafka Connect's connectors (/connectors) with their state and tasks, one
// connector's config, status and task traces (/connectors/{name}), create from JSON, edit the
// config, pause / resume / stop / restart, restart a task, delete. Every call goes through
// c.connectCall as the signed-in user; Connect's own messages (validation errors, 409 while its
// group rebalances) are shown as they come.

const connectTimeout = 30 * time.Second

// maxConnectorForm bounds a posted connector JSON.
const maxConnectorForm = 1 << 20

func (c *Console) connectorRoutes(mux *http.ServeMux) {
	if c.opts.ConnectURL == "" {
		return
	}
	mux.HandleFunc("GET /connectors", c.connectorList)
	mux.HandleFunc("POST /connectors", c.connectorCreate)
	mux.HandleFunc("GET /connectors/{name}", c.connectorPage)
	mux.HandleFunc("POST /connectors/{name}/config", c.connectorEdit)
	mux.HandleFunc("POST /connectors/{name}/action", c.connectorAction)
	mux.HandleFunc("POST /connectors/{name}/tasks/{task}/restart", c.connectorTaskRestart)
	mux.HandleFunc("POST /connectors/{name}/delete", c.connectorDelete)
}

// connectorState is Connect's status of a connector or task.
type connectorState struct {
	ID       int    `json:"id"`
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace,omitempty"`
}

// StateClass is the badge class of a state.
func (s connectorState) StateClass() string {
	switch s.State {
	case "RUNNING":
		return "ok"
	case "FAILED":
		return "bad"
	}
	return ""
}

type connectorStatus struct {
	Name      string           `json:"name"`
	Connector connectorState   `json:"connector"`
	Tasks     []connectorState `json:"tasks"`
	Type      string           `json:"type"`
}

type connectorInfo struct {
	Name   string            `json:"name"`
	Config map[string]string `json:"config"`
	Type   string            `json:"type"`
}

type connectorRow struct {
	Name, Type, Class, State string
	Tasks                    []connectorState
	StateClass               string
}

type connectorListData struct {
	Connectors []connectorRow
	Draft      string
	Error      string
	Done       string
}

func (c *Console) connectorList(w http.ResponseWriter, r *http.Request) {
	d := connectorListData{Done: r.URL.Query().Get("done")}
	c.renderConnectorList(w, r, d, http.StatusOK)
}

func (c *Console) renderConnectorList(w http.ResponseWriter, r *http.Request, d connectorListData, status int) {
	ctx, cancel := context.WithTimeout(r.Context(), connectTimeout)
	defer cancel()
	var all map[string]struct {
		Status connectorStatus `json:"status"`
		Info   connectorInfo   `json:"info"`
	}
	if err := c.connectCall(ctx, sessionOf(r), "GET", "/connectors?expand=status&expand=info", nil, &all); err != nil {
		c.fail(w, r, apiErrStatus(err), "kafka connect: "+err.Error())
		return
	}
	for name, e := range all {
		row := connectorRow{Name: name, Type: e.Info.Type, Class: e.Info.Config["connector.class"],
			State: e.Status.Connector.State, StateClass: e.Status.Connector.StateClass(), Tasks: e.Status.Tasks}
		if row.Type == "" {
			row.Type = e.Status.Type
		}
		d.Connectors = append(d.Connectors, row)
	}
	slices.SortFunc(d.Connectors, func(a, b connectorRow) int { return strings.Compare(a.Name, b.Name) })
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	c.render(w, r, "connectors.html", "Connectors", d)
}

// parseConnectorJSON reads a connector as Connect's create request ({"name", "config"}) or a
// bare config with its "name"; numbers and booleans in the config become strings, as Connect
// reads them.
func parseConnectorJSON(text string) (string, map[string]string, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return "", nil, fmt.Errorf("not a JSON object: %v", err)
	}
	if dec.More() {
		return "", nil, errors.New("more than one JSON value: give one object")
	}
	name, _ := raw["name"].(string)
	body := raw
	if cfg, ok := raw["config"]; ok {
		m, ok := cfg.(map[string]any)
		if !ok {
			return "", nil, errors.New(`"config" must be an object of settings`)
		}
		body = m
	}
	config, err := connectorConfig(body)
	if err != nil {
		return "", nil, err
	}
	if name == "" {
		name = config["name"]
	}
	if strings.TrimSpace(name) == "" {
		return "", nil, errors.New(`give the connector's "name"`)
	}
	return name, config, nil
}

// connectorConfig turns a JSON object of settings into Connect's string map.
func connectorConfig(body map[string]any) (map[string]string, error) {
	config := make(map[string]string, len(body))
	for k, v := range body {
		switch v := v.(type) {
		case string:
			config[k] = v
		case json.Number:
			config[k] = v.String()
		case bool:
			config[k] = strconv.FormatBool(v)
		case nil:
			return nil, fmt.Errorf("setting %q is null: leave it out instead", k)
		default:
			return nil, fmt.Errorf("setting %q: give a string, number or boolean", k)
		}
	}
	return config, nil
}

func readForm(w http.ResponseWriter, r *http.Request, limit int64) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("the form: %v", err)
	}
	return nil
}

func (c *Console) connectorCreate(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), connectTimeout)
	defer cancel()
	err := readForm(w, r, maxConnectorForm)
	draft := r.PostFormValue("json")
	var name string
	if err == nil {
		var config map[string]string
		if name, config, err = parseConnectorJSON(draft); err == nil {
			err = c.connectCall(ctx, sessionOf(r), "POST", "/connectors", map[string]any{"name": name, "config": config}, nil)
		}
	}
	if err != nil {
		c.renderConnectorList(w, r, connectorListData{Draft: draft, Error: "not created: " + err.Error()}, http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, "/connectors/"+url.PathEscape(name)+"?done="+url.QueryEscape("created "+name), http.StatusSeeOther)
}

type connectorPageData struct {
	Name        string
	Status      connectorStatus
	Config      string // indented JSON
	Done, Error string
}

func (c *Console) connectorPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c.renderConnector(w, r, connectorPageData{Name: r.PathValue("name"), Done: q.Get("done"), Error: q.Get("error")}, http.StatusOK)
}

func (c *Console) renderConnector(w http.ResponseWriter, r *http.Request, d connectorPageData, status int) {
	ctx, cancel := context.WithTimeout(r.Context(), connectTimeout)
	defer cancel()
	s, base := sessionOf(r), "/connectors/"+url.PathEscape(d.Name)
	if err := c.connectCall(ctx, s, "GET", base+"/status", nil, &d.Status); err != nil {
		c.fail(w, r, apiErrStatus(err), fmt.Sprintf("connector %s: %v", d.Name, err))
		return
	}
	if d.Config == "" {
		var config map[string]string
		if err := c.connectCall(ctx, s, "GET", base+"/config", nil, &config); err != nil {
			c.fail(w, r, apiErrStatus(err), fmt.Sprintf("connector %s: %v", d.Name, err))
			return
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.Encode(config) // maps encode with sorted keys
		d.Config = buf.String()
	}
	slices.SortFunc(d.Status.Tasks, func(a, b connectorState) int { return a.ID - b.ID })
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	c.render(w, r, "connector.html", "Connector "+d.Name, d)
}

func connectorRedirect(w http.ResponseWriter, r *http.Request, name, key, msg string) {
	http.Redirect(w, r, "/connectors/"+url.PathEscape(name)+"?"+key+"="+url.QueryEscape(msg), http.StatusSeeOther)
}

// connectorEdit replaces the connector's config (PUT /connectors/{name}/config).
func (c *Console) connectorEdit(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), connectTimeout)
	defer cancel()
	name := r.PathValue("name")
	err := readForm(w, r, maxConnectorForm)
	draft := r.PostFormValue("config")
	if err == nil {
		var body map[string]any
		dec := json.NewDecoder(strings.NewReader(draft))
		dec.UseNumber()
		if err = dec.Decode(&body); err != nil {
			err = fmt.Errorf("not a JSON object: %v", err)
		} else {
			var config map[string]string
			if config, err = connectorConfig(body); err == nil {
				err = c.connectCall(ctx, sessionOf(r), "PUT", "/connectors/"+url.PathEscape(name)+"/config", config, nil)
			}
		}
	}
	if err != nil {
		c.renderConnector(w, r, connectorPageData{Name: name, Config: draft, Error: "config not changed: " + err.Error()}, http.StatusBadRequest)
		return
	}
	connectorRedirect(w, r, name, "done", "config updated")
}

// connectorAction pauses, resumes, stops or restarts the connector.
func (c *Console) connectorAction(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), connectTimeout)
	defer cancel()
	name, action := r.PathValue("name"), r.FormValue("action")
	base := "/connectors/" + url.PathEscape(name)
	var err error
	switch action {
	case "pause", "resume", "stop":
		err = c.connectCall(ctx, sessionOf(r), "PUT", base+"/"+action, nil, nil)
	case "restart":
		q := url.Values{"includeTasks": {strconv.FormatBool(r.FormValue("includeTasks") == "true")},
			"onlyFailed": {strconv.FormatBool(r.FormValue("onlyFailed") == "true")}}
		err = c.connectCall(ctx, sessionOf(r), "POST", base+"/restart?"+q.Encode(), nil, nil)
	default:
		err = fmt.Errorf("unknown action %q: pause, resume, stop or restart", action)
	}
	if err != nil {
		connectorRedirect(w, r, name, "error", action+": "+err.Error())
		return
	}
	connectorRedirect(w, r, name, "done", action+" requested")
}

func (c *Console) connectorTaskRestart(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), connectTimeout)
	defer cancel()
	name, task := r.PathValue("name"), r.PathValue("task")
	if _, err := strconv.Atoi(task); err != nil {
		connectorRedirect(w, r, name, "error", "task "+task+": not a task number")
		return
	}
	if err := c.connectCall(ctx, sessionOf(r), "POST", "/connectors/"+url.PathEscape(name)+"/tasks/"+task+"/restart", nil, nil); err != nil {
		connectorRedirect(w, r, name, "error", "restart task "+task+": "+err.Error())
		return
	}
	connectorRedirect(w, r, name, "done", "task "+task+" restart requested")
}

func (c *Console) connectorDelete(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), connectTimeout)
	defer cancel()
	name := r.PathValue("name")
	if err := c.connectCall(ctx, sessionOf(r), "DELETE", "/connectors/"+url.PathEscape(name), nil, nil); err != nil {
		connectorRedirect(w, r, name, "error", "delete: "+err.Error())
		return
	}
	http.Redirect(w, r, "/connectors?done="+url.QueryEscape("deleted "+name), http.StatusSeeOther)
}
