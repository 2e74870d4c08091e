package connect

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sluicehq/sluice/internal/connect/converter"
)

// Version is what GET / reports as the Kafka Connect version the API follows.
const Version = "3.9.0"

// restError is Kafka Connect's error body.
type restError struct {
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
}

// Herder is what the REST API manages (Kafka Connect's word): a standalone *Worker, or a
// *Distributed worker that shares its connectors with its group.
type Herder interface {
	Names() []string
	Info(name string) (ConnectorInfo, error)
	Create(name string, config map[string]string, initialState string) (ConnectorInfo, error)
	PutConfig(name string, config map[string]string) (info ConnectorInfo, created bool, err error)
	Delete(name string) error
	Status(name string) (ConnectorStatus, error)
	TaskStatus(name string, task int) (TaskStatus, error)
	TaskConfigs(name string) ([]map[string]string, error)
	Topics(name string) ([]string, error)
	ResetTopics(name string) error
	SetTarget(name, target string) error
	Restart(name string, includeTasks, onlyFailed bool) error
	RestartTask(name string, task int) error
	Offsets(name string) ([]OffsetEntry, error)
	AlterOffsets(name string, entries []OffsetEntry) error
	ResetOffsets(name string) error
	Validate(config map[string]string) ConfigInfos
	Metrics() *prometheus.Registry
}

// Handler serves Kafka Connect's REST API for w. clusterID is reported by GET /.
func Handler(w Herder, clusterID func() string) http.Handler {
	h := &restHandler{w: w, clusterID: clusterID}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.root)
	mux.HandleFunc("GET /connectors", h.list)
	mux.HandleFunc("POST /connectors", h.create)
	mux.HandleFunc("GET /connectors/{c}", h.info)
	mux.HandleFunc("DELETE /connectors/{c}", h.delete)
	mux.HandleFunc("GET /connectors/{c}/config", h.getConfig)
	mux.HandleFunc("PUT /connectors/{c}/config", h.putConfig)
	mux.HandleFunc("PATCH /connectors/{c}/config", h.patchConfig)
	mux.HandleFunc("GET /connectors/{c}/status", h.status)
	mux.HandleFunc("GET /connectors/{c}/tasks", h.tasks)
	mux.HandleFunc("GET /connectors/{c}/tasks-config", h.tasksConfig)
	mux.HandleFunc("GET /connectors/{c}/tasks/{t}/status", h.taskStatus)
	mux.HandleFunc("POST /connectors/{c}/tasks/{t}/restart", h.taskRestart)
	mux.HandleFunc("POST /connectors/{c}/restart", h.restart)
	mux.HandleFunc("PUT /connectors/{c}/pause", h.target(StatePaused, http.StatusAccepted))
	mux.HandleFunc("PUT /connectors/{c}/resume", h.target(StateRunning, http.StatusAccepted))
	mux.HandleFunc("PUT /connectors/{c}/stop", h.target(StateStopped, http.StatusNoContent))
	mux.HandleFunc("GET /connectors/{c}/topics", h.topics)
	mux.HandleFunc("PUT /connectors/{c}/topics/reset", h.resetTopics)
	mux.HandleFunc("GET /connectors/{c}/offsets", h.offsets)
	mux.HandleFunc("PATCH /connectors/{c}/offsets", h.alterOffsets)
	mux.HandleFunc("DELETE /connectors/{c}/offsets", h.resetOffsets)
	mux.HandleFunc("GET /connector-plugins", h.plugins)
	mux.HandleFunc("PUT /connector-plugins/{class}/config/validate", h.validate)
	// Not Kafka Connect's (it reports through JMX): the worker's metrics for Prometheus.
	mux.Handle("GET /metrics", promhttp.HandlerFor(w.Metrics(), promhttp.HandlerOpts{}))
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			writeError(rw, http.StatusNotFound, "HTTP 404 Not Found")
			return
		}
		mux.ServeHTTP(rw, r)
	})
}

type restHandler struct {
	w         Herder
	clusterID func() string
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	json.NewEncoder(rw).Encode(v)
}

func writeError(rw http.ResponseWriter, status int, msg string) {
	writeJSON(rw, status, restError{ErrorCode: status, Message: msg})
}

// fail maps a worker error to Kafka Connect's status and body.
func fail(rw http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, ErrAlreadyExists), errors.Is(err, errRebalancing):
		status = http.StatusConflict
	case errors.Is(err, ErrBadConfig), errors.Is(err, ErrNotStopped):
		status = http.StatusBadRequest
	}
	msg := err.Error()
	for _, e := range []error{ErrNotFound, ErrAlreadyExists, ErrBadConfig, ErrNotStopped} {
		msg = strings.TrimPrefix(msg, e.Error()+": ")
	}
	writeError(rw, status, msg)
}

// maxBody bounds request bodies (connector configurations are small).
const maxBody = 4 << 20

func readJSON(rw http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeError(rw, http.StatusBadRequest, "reading the request body: "+err.Error())
		return false
	}
	if len(body) > maxBody {
		writeError(rw, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", maxBody))
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(rw, http.StatusBadRequest, "Request body is not valid JSON: "+err.Error())
		return false
	}
	return true
}

func (h *restHandler) root(rw http.ResponseWriter, _ *http.Request) {
	id := ""
	if h.clusterID != nil {
		id = h.clusterID()
	}
	writeJSON(rw, http.StatusOK, map[string]string{"version": Version, "commit": "sluice", "kafka_cluster_id": id})
}

func (h *restHandler) list(rw http.ResponseWriter, r *http.Request) {
	names := h.w.Names()
	expand := r.URL.Query()["expand"]
	if len(expand) == 0 {
		writeJSON(rw, http.StatusOK, names)
		return
	}
	out := map[string]map[string]any{}
	for _, n := range names {
		entry := map[string]any{}
		for _, e := range expand {
			switch e {
			case "status":
				if st, err := h.w.Status(n); err == nil {
					entry["status"] = st
				}
			case "info":
				if info, err := h.w.Info(n); err == nil {
					entry["info"] = info
				}
			}
		}
		if len(entry) > 0 {
			out[n] = entry
		}
	}
	writeJSON(rw, http.StatusOK, out)
}

func (h *restHandler) create(rw http.ResponseWriter, r *http.Request) {
	var req struct {
		Name         string            `json:"name"`
		Config       map[string]string `json:"config"`
		InitialState string            `json:"initial_state"`
	}
	if !readJSON(rw, r, &req) {
		return
	}
	name := req.Name
	if name == "" {
		name = req.Config["name"]
	}
	if name == "" {
		writeError(rw, http.StatusBadRequest, "Connector name configuration must be provided")
		return
	}
	if req.Config == nil {
		writeError(rw, http.StatusBadRequest, "Connector config must be provided")
		return
	}
	info, err := h.w.Create(name, req.Config, req.InitialState)
	if err != nil {
		fail(rw, err)
		return
	}
	rw.Header().Set("Location", "/connectors/"+name)
	writeJSON(rw, http.StatusCreated, info)
}

func (h *restHandler) info(rw http.ResponseWriter, r *http.Request) {
	info, err := h.w.Info(r.PathValue("c"))
	if err != nil {
		fail(rw, err)
		return
	}
	writeJSON(rw, http.StatusOK, info)
}

func (h *restHandler) delete(rw http.ResponseWriter, r *http.Request) {
	if err := h.w.Delete(r.PathValue("c")); err != nil {
		fail(rw, err)
		return
	}
	rw.WriteHeader(http.StatusNoContent)
}

func (h *restHandler) getConfig(rw http.ResponseWriter, r *http.Request) {
	info, err := h.w.Info(r.PathValue("c"))
	if err != nil {
		fail(rw, err)
		return
	}
	writeJSON(rw, http.StatusOK, info.Config)
}

func (h *restHandler) putConfig(rw http.ResponseWriter, r *http.Request) {
	var cfg map[string]string
	if !readJSON(rw, r, &cfg) {
		return
	}
	info, created, err := h.w.PutConfig(r.PathValue("c"), cfg)
	if err != nil {
		fail(rw, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		rw.Header().Set("Location", "/connectors/"+info.Name)
	}
	writeJSON(rw, status, info)
}

// patchConfig merges the body into the configuration; a null value removes a key (KIP-477).
func (h *restHandler) patchConfig(rw http.ResponseWriter, r *http.Request) {
	var patch map[string]*string
	if !readJSON(rw, r, &patch) {
		return
	}
	name := r.PathValue("c")
	info, err := h.w.Info(name)
	if err != nil {
		fail(rw, err)
		return
	}
	for k, v := range patch {
		if v == nil {
			delete(info.Config, k)
		} else {
			info.Config[k] = *v
		}
	}
	info, _, err = h.w.PutConfig(name, info.Config)
	if err != nil {
		fail(rw, err)
		return
	}
	writeJSON(rw, http.StatusOK, info)
}

func (h *restHandler) status(rw http.ResponseWriter, r *http.Request) {
	st, err := h.w.Status(r.PathValue("c"))
	if err != nil {
		fail(rw, err)
		return
	}
	writeJSON(rw, http.StatusOK, st)
}

func (h *restHandler) tasks(rw http.ResponseWriter, r *http.Request) {
	name := r.PathValue("c")
	cfgs, err := h.w.TaskConfigs(name)
	if err != nil {
		fail(rw, err)
		return
	}
	type task struct {
		ID     TaskID            `json:"id"`
		Config map[string]string `json:"config"`
	}
	out := []task{}
	for i, c := range cfgs {
		out = append(out, task{ID: TaskID{Connector: name, Task: i}, Config: c})
	}
	writeJSON(rw, http.StatusOK, out)
}

func (h *restHandler) tasksConfig(rw http.ResponseWriter, r *http.Request) {
	name := r.PathValue("c")
	cfgs, err := h.w.TaskConfigs(name)
	if err != nil {
		fail(rw, err)
		return
	}
	out := map[string]map[string]string{}
	for i, c := range cfgs {
		out[fmt.Sprintf("%s-%d", name, i)] = c
	}
	writeJSON(rw, http.StatusOK, out)
}

func taskNumber(rw http.ResponseWriter, r *http.Request) (int, bool) {
	t, err := strconv.Atoi(r.PathValue("t"))
	if err != nil || t < 0 {
		writeError(rw, http.StatusNotFound, fmt.Sprintf("Task %s-%s not found", r.PathValue("c"), r.PathValue("t")))
		return 0, false
	}
	return t, true
}

func (h *restHandler) taskStatus(rw http.ResponseWriter, r *http.Request) {
	t, ok := taskNumber(rw, r)
	if !ok {
		return
	}
	st, err := h.w.TaskStatus(r.PathValue("c"), t)
	if err != nil {
		fail(rw, err)
		return
	}
	writeJSON(rw, http.StatusOK, st)
}

func (h *restHandler) taskRestart(rw http.ResponseWriter, r *http.Request) {
	t, ok := taskNumber(rw, r)
	if !ok {
		return
	}
	if err := h.w.RestartTask(r.PathValue("c"), t); err != nil {
		fail(rw, err)
		return
	}
	rw.WriteHeader(http.StatusNoContent)
}

func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	return strconv.ParseBool(v)
}

// restart is POST /connectors/{c}/restart: 204 for the connector alone, else 202 with the
// status (KIP-745).
func (h *restHandler) restart(rw http.ResponseWriter, r *http.Request) {
	includeTasks, err1 := boolParam(r, "includeTasks")
	onlyFailed, err2 := boolParam(r, "onlyFailed")
	if err := errors.Join(err1, err2); err != nil {
		writeError(rw, http.StatusBadRequest, err.Error())
		return
	}
	name := r.PathValue("c")
	if err := h.w.Restart(name, includeTasks, onlyFailed); err != nil {
		fail(rw, err)
		return
	}
	if !includeTasks && !onlyFailed {
		rw.WriteHeader(http.StatusNoContent)
		return
	}
	st, err := h.w.Status(name)
	if err != nil {
		fail(rw, err)
		return
	}
	writeJSON(rw, http.StatusAccepted, st)
}

func (h *restHandler) target(state string, status int) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if err := h.w.SetTarget(r.PathValue("c"), state); err != nil {
			fail(rw, err)
			return
		}
		rw.WriteHeader(status)
	}
}

func (h *restHandler) topics(rw http.ResponseWriter, r *http.Request) {
	name := r.PathValue("c")
	topics, err := h.w.Topics(name)
	if err != nil {
		fail(rw, err)
		return
	}
	writeJSON(rw, http.StatusOK, map[string]map[string][]string{name: {"topics": topics}})
}

func (h *restHandler) resetTopics(rw http.ResponseWriter, r *http.Request) {
	if err := h.w.ResetTopics(r.PathValue("c")); err != nil {
		fail(rw, err)
		return
	}
	rw.WriteHeader(http.StatusOK)
}

func (h *restHandler) offsets(rw http.ResponseWriter, r *http.Request) {
	entries, err := h.w.Offsets(r.PathValue("c"))
	if err != nil {
		fail(rw, err)
		return
	}
	writeJSON(rw, http.StatusOK, map[string][]OffsetEntry{"offsets": entries})
}

func (h *restHandler) alterOffsets(rw http.ResponseWriter, r *http.Request) {
	var req struct {
		Offsets []OffsetEntry `json:"offsets"`
	}
	if !readJSON(rw, r, &req) {
		return
	}
	if len(req.Offsets) == 0 {
		writeError(rw, http.StatusBadRequest, "The 'offsets' field must be provided and may not be empty")
		return
	}
	if err := h.w.AlterOffsets(r.PathValue("c"), req.Offsets); err != nil {
		fail(rw, err)
		return
	}
	writeJSON(rw, http.StatusOK, map[string]string{"message": "The offsets for this connector have been altered successfully"})
}

func (h *restHandler) resetOffsets(rw http.ResponseWriter, r *http.Request) {
	if err := h.w.ResetOffsets(r.PathValue("c")); err != nil {
		fail(rw, err)
		return
	}
	writeJSON(rw, http.StatusOK, map[string]string{"message": "The offsets for this connector have been reset successfully"})
}

func (h *restHandler) plugins(rw http.ResponseWriter, r *http.Request) {
	type plugin struct {
		Class   string `json:"class"`
		Type    string `json:"type"`
		Version string `json:"version,omitempty"`
	}
	out := []plugin{}
	for _, p := range Plugins() {
		out = append(out, plugin{Class: p.Class, Type: string(p.Kind), Version: p.Version})
	}
	if v := r.URL.Query().Get("connectorsOnly"); v == "false" {
		for _, c := range converter.Classes() {
			out = append(out, plugin{Class: c, Type: "converter"})
		}
	}
	writeJSON(rw, http.StatusOK, out)
}

func (h *restHandler) validate(rw http.ResponseWriter, r *http.Request) {
	var cfg map[string]string
	if !readJSON(rw, r, &cfg) {
		return
	}
	class := r.PathValue("class")
	if c, ok := cfg["connector.class"]; ok {
		p1, err1 := LookupPlugin(c)
		p2, err2 := LookupPlugin(class)
		if err1 == nil && err2 == nil && p1 != p2 {
			writeError(rw, http.StatusBadRequest, "Connector class in the URL does not match the connector class in the config: "+class+" / "+c)
			return
		}
	} else {
		cfg["connector.class"] = class
	}
	writeJSON(rw, http.StatusOK, h.w.Validate(cfg))
}
