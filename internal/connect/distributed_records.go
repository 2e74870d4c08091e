package connect

// The records of distributed mode's internal topics, in the layouts Kafka Connect writes them
// (its internal converter is JsonConverter with schemas.enable=false, keys are plain strings):
//
// config topic (config.storage.topic, one partition):
//
//	connector-NAME          {"properties":{"k":"v",...}}       null: the connector was deleted
//	task-NAME-N             {"properties":{"k":"v",...}}       applied only by the next commit-NAME
//	commit-NAME             {"tasks":N}                        tasks 0..N-1 are NAME's task configs now
//	target-state-NAME       {"state":"PAUSED","state.v2":"STOPPED"}   state.v2 (Kafka 3.5+) wins when present
//	restart-connector-NAME  {"include-tasks":true,"only-failed":false}
//
// status topic (status.storage.topic):
//
//	status-connector-NAME   {"state":"RUNNING","trace":null,"worker_id":"host:port","generation":7}
//	status-task-NAME-N      the same
//	status-topic-TOPIC:connector-NAME  {"topic":{"name":..,"connector":..,"task":N,"discoverTimestamp":ms}}
//
// offsets topic (offset.storage.topic): key ["NAME",{partition}] (offsetKey), value the offset
// JSON object, null when removed.
//
// Other keys Kafka Connect writes (session-key, tasks-fencing-NAME, logger-…) parse as
// configOther and are ignored.

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// configKind is what a config topic record says.
type configKind int

const (
	configOther     configKind = iota // a key this worker does not use
	configConnector                   // connector-NAME
	configTask                        // task-NAME-N
	configCommit                      // commit-NAME
	configTarget                      // target-state-NAME
	configRestart                     // restart-connector-NAME
)

// configRecord is one parsed config topic record. A nil Props (connector, task) or an empty
// Target is a tombstone.
type configRecord struct {
	Kind         configKind
	Connector    string
	Task         int
	Props        map[string]string
	Tasks        int
	Target       string
	IncludeTasks bool
	OnlyFailed   bool
	Offset       int64 // where it was read (set by the reader)
}

const (
	connectorPrefix = "connector-"
	taskPrefix      = "task-"
	commitPrefix    = "commit-"
	targetPrefix    = "target-state-"
	restartPrefix   = "restart-connector-"
)

type propsValue struct {
	Properties map[string]*string `json:"properties"`
}

type commitValue struct {
	Tasks *int `json:"tasks"`
}

type targetValue struct {
	State   string `json:"state"`
	StateV2 string `json:"state.v2,omitempty"`
}

type restartValue struct {
	IncludeTasks bool `json:"include-tasks"`
	OnlyFailed   bool `json:"only-failed"`
}

// maxConfigTasks bounds the task count a record may announce (a commit of 2^31 tasks would
// otherwise make the reader allocate for it).
const maxConfigTasks = 1 << 16

// parseConfigRecord reads a config topic record; an error means the record is malformed (the
// reader logs and skips it, as Kafka Connect does).
func parseConfigRecord(key string, value []byte) (configRecord, error) {
	var r configRecord
	switch {
	case strings.HasPrefix(key, targetPrefix):
		r.Kind, r.Connector = configTarget, key[len(targetPrefix):]
		if value == nil {
			return r, nil
		}
		var v targetValue
		if err := json.Unmarshal(value, &v); err != nil {
			return r, fmt.Errorf("connect: config record %.100q: %w", key, err)
		}
		r.Target = v.State
		if v.StateV2 != "" {
			r.Target = v.StateV2
		}
		switch r.Target {
		case "STARTED":
			r.Target = StateRunning
		case StatePaused, StateStopped:
		default:
			return r, fmt.Errorf("connect: config record %.100q: unknown target state %.20q", key, r.Target)
		}
	case strings.HasPrefix(key, restartPrefix):
		r.Kind, r.Connector = configRestart, key[len(restartPrefix):]
		if value == nil {
			return r, nil
		}
		var v restartValue
		if err := json.Unmarshal(value, &v); err != nil {
			return r, fmt.Errorf("connect: config record %.100q: %w", key, err)
		}
		r.IncludeTasks, r.OnlyFailed = v.IncludeTasks, v.OnlyFailed
	case strings.HasPrefix(key, commitPrefix):
		r.Kind, r.Connector = configCommit, key[len(commitPrefix):]
		var v commitValue
		if value == nil || json.Unmarshal(value, &v) != nil || v.Tasks == nil || *v.Tasks < 0 || *v.Tasks > maxConfigTasks {
			return r, fmt.Errorf("connect: config record %.100q: not {\"tasks\": a count}", key)
		}
		r.Tasks = *v.Tasks
	case strings.HasPrefix(key, connectorPrefix):
		r.Kind, r.Connector = configConnector, key[len(connectorPrefix):]
		props, err := parseProps(key, value)
		r.Props = props
		return r, err
	case strings.HasPrefix(key, taskPrefix):
		rest := key[len(taskPrefix):]
		i := strings.LastIndexByte(rest, '-')
		n, err := strconv.Atoi(rest[i+1:])
		if i <= 0 || err != nil || n < 0 || n >= maxConfigTasks {
			return r, fmt.Errorf("connect: config record %.100q: not task-NAME-N", key)
		}
		r.Kind, r.Connector, r.Task = configTask, rest[:i], n
		r.Props, err = parseProps(key, value)
		return r, err
	}
	return r, nil
}

func parseProps(key string, value []byte) (map[string]string, error) {
	if value == nil {
		return nil, nil
	}
	var v propsValue
	if err := json.Unmarshal(value, &v); err != nil || v.Properties == nil {
		return nil, fmt.Errorf("connect: config record %.100q: not {\"properties\": {...}}", key)
	}
	props := make(map[string]string, len(v.Properties))
	for k, p := range v.Properties {
		if p != nil { // Kafka's schema allows null values; they mean "not set"
			props[k] = *p
		}
	}
	return props, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called with maps of strings and plain structs
	}
	return b
}

func propsJSON(props map[string]string) []byte {
	p := make(map[string]*string, len(props))
	for k, v := range props {
		p[k] = &v
	}
	return mustJSON(propsValue{Properties: p})
}

func connectorConfigKey(name string) string { return connectorPrefix + name }
func taskConfigKey(name string, task int) string {
	return taskPrefix + name + "-" + strconv.Itoa(task)
}
func commitKey(name string) string      { return commitPrefix + name }
func targetStateKey(name string) string { return targetPrefix + name }
func restartKey(name string) string     { return restartPrefix + name }

func commitJSON(tasks int) []byte { return mustJSON(commitValue{Tasks: &tasks}) }

// targetJSON writes state for old readers (which know PAUSED and STARTED) and state.v2.
func targetJSON(target string) []byte {
	v := targetValue{State: "STARTED", StateV2: "STARTED"}
	switch target {
	case StatePaused:
		v.State, v.StateV2 = StatePaused, StatePaused
	case StateStopped:
		v.State, v.StateV2 = StatePaused, StateStopped // older workers fall back on PAUSED
	}
	return mustJSON(v)
}

func restartJSON(includeTasks, onlyFailed bool) []byte {
	return mustJSON(restartValue{IncludeTasks: includeTasks, OnlyFailed: onlyFailed})
}

// statusValue is a status topic record's value.
type statusValue struct {
	State      string  `json:"state"`
	Trace      *string `json:"trace"`
	WorkerID   string  `json:"worker_id"`
	Generation int32   `json:"generation"`
}

// topicStatusValue is KIP-558's record of a topic a connector used.
type topicStatusValue struct {
	Topic struct {
		Name              string `json:"name"`
		Connector         string `json:"connector"`
		Task              int    `json:"task"`
		DiscoverTimestamp int64  `json:"discoverTimestamp"`
	} `json:"topic"`
}

const (
	statusConnectorPrefix = "status-connector-"
	statusTaskPrefix      = "status-task-"
	statusTopicPrefix     = "status-topic-"
)

func connectorStatusKey(name string) string { return statusConnectorPrefix + name }
func taskStatusKey(name string, task int) string {
	return statusTaskPrefix + name + "-" + strconv.Itoa(task)
}
func topicStatusKey(topic, connector string) string {
	return statusTopicPrefix + topic + ":" + connectorPrefix + connector
}

func statusJSON(state, trace, workerID string, generation int32) []byte {
	v := statusValue{State: state, WorkerID: workerID, Generation: generation}
	if trace != "" {
		v.Trace = &trace
	}
	return mustJSON(v)
}

func topicStatusJSON(topic, connector string, task int, discovered int64) []byte {
	var v topicStatusValue
	v.Topic.Name, v.Topic.Connector, v.Topic.Task, v.Topic.DiscoverTimestamp = topic, connector, task, discovered
	return mustJSON(v)
}

// statusRecord is one parsed status topic record; Task is -1 for a connector's status, and
// Topic is set for a topic record. A tombstone has a nil Value.
type statusRecord struct {
	Connector string
	Task      int
	Topic     string
	Tombstone bool
	Value     *statusValue // nil for tombstones and topic records
}

// parseStatusRecord reads a status topic record; ok is false for keys it does not know.
func parseStatusRecord(key string, value []byte) (r statusRecord, ok bool, err error) {
	r.Task, r.Tombstone = -1, value == nil
	switch {
	case strings.HasPrefix(key, statusConnectorPrefix):
		r.Connector = key[len(statusConnectorPrefix):]
	case strings.HasPrefix(key, statusTaskPrefix):
		rest := key[len(statusTaskPrefix):]
		i := strings.LastIndexByte(rest, '-')
		n, err := strconv.Atoi(rest[i+1:])
		if i <= 0 || err != nil || n < 0 {
			return r, false, fmt.Errorf("connect: status record %.100q: not status-task-NAME-N", key)
		}
		r.Connector, r.Task = rest[:i], n
	case strings.HasPrefix(key, statusTopicPrefix):
		topic, conn, found := strings.Cut(key[len(statusTopicPrefix):], ":"+connectorPrefix)
		if !found || topic == "" {
			return r, false, fmt.Errorf("connect: status record %.100q: not status-topic-TOPIC:connector-NAME", key)
		}
		r.Connector, r.Topic = conn, topic
		return r, true, nil // the value is not needed: the key says it all
	default:
		return r, false, nil
	}
	if value == nil {
		return r, true, nil
	}
	var v statusValue
	if err := json.Unmarshal(value, &v); err != nil || v.State == "" {
		return r, false, fmt.Errorf("connect: status record %.100q: not {\"state\", \"trace\", \"worker_id\", \"generation\"}", key)
	}
	r.Value = &v
	return r, true, nil
}
