package connect

import (
	"encoding/hex"
	"maps"
	"reflect"
	"slices"
	"testing"
)

// The values below are as Kafka Connect's workers write them (JsonConverter, schemas off).
func TestParseConfigRecord(t *testing.T) {
	cases := []struct {
		name, key, value string
		tombstone        bool
		want             configRecord
		wantErr          bool
	}{
		{name: "connector", key: "connector-orders-cdc", value: `{"properties":{"connector.class":"FileStreamSource","name":"orders-cdc","file":"/tmp/a","unset":null}}`,
			want: configRecord{Kind: configConnector, Connector: "orders-cdc", Props: map[string]string{"connector.class": "FileStreamSource", "name": "orders-cdc", "file": "/tmp/a"}}},
		{name: "connector deleted", key: "connector-orders-cdc", tombstone: true, want: configRecord{Kind: configConnector, Connector: "orders-cdc"}},
		{name: "task with dashes in the name", key: "task-my-conn-12", value: `{"properties":{"file":"/tmp/a"}}`,
			want: configRecord{Kind: configTask, Connector: "my-conn", Task: 12, Props: map[string]string{"file": "/tmp/a"}}},
		{name: "commit", key: "commit-my-conn", value: `{"tasks":3}`, want: configRecord{Kind: configCommit, Connector: "my-conn", Tasks: 3}},
		{name: "target paused (before Kafka 3.5)", key: "target-state-c", value: `{"state":"PAUSED"}`, want: configRecord{Kind: configTarget, Connector: "c", Target: StatePaused}},
		{name: "target started", key: "target-state-c", value: `{"state":"STARTED","state.v2":"STARTED"}`, want: configRecord{Kind: configTarget, Connector: "c", Target: StateRunning}},
		{name: "target stopped (state.v2 wins)", key: "target-state-c", value: `{"state":"PAUSED","state.v2":"STOPPED"}`, want: configRecord{Kind: configTarget, Connector: "c", Target: StateStopped}},
		{name: "target deleted", key: "target-state-c", tombstone: true, want: configRecord{Kind: configTarget, Connector: "c"}},
		{name: "restart", key: "restart-connector-c", value: `{"include-tasks":true,"only-failed":false}`, want: configRecord{Kind: configRestart, Connector: "c", IncludeTasks: true}},
		{name: "session key is ignored", key: "session-key", value: `{"key":"AAAA","algorithm":"HmacSHA256","creation-timestamp":1}`, want: configRecord{Kind: configOther}},
		{name: "task fencing is ignored", key: "tasks-fencing-c", value: `{"task-count":2}`, want: configRecord{Kind: configOther}},
		{name: "commit without tasks", key: "commit-c", value: `{}`, wantErr: true},
		{name: "commit with too many tasks", key: "commit-c", value: `{"tasks":2147483647}`, wantErr: true},
		{name: "task without a number", key: "task-c", value: `{"properties":{}}`, wantErr: true},
		{name: "unknown target", key: "target-state-c", value: `{"state":"NAPPING"}`, wantErr: true},
		{name: "properties not a map", key: "connector-c", value: `{"properties":["a"]}`, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v []byte
			if !tc.tombstone {
				v = []byte(tc.value)
			}
			got, err := parseConfigRecord(tc.key, v)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// Records we write read back the same, and in the byte layout Kafka Connect writes.
func TestConfigRecordsRoundTrip(t *testing.T) {
	props := map[string]string{"name": "c", "tasks.max": "2"}
	if got := string(propsJSON(props)); got != `{"properties":{"name":"c","tasks.max":"2"}}` {
		t.Errorf("properties: %s", got)
	}
	if got := string(commitJSON(2)); got != `{"tasks":2}` {
		t.Errorf("commit: %s", got)
	}
	if got := string(targetJSON(StateStopped)); got != `{"state":"PAUSED","state.v2":"STOPPED"}` {
		t.Errorf("target: %s", got)
	}
	if got := string(restartJSON(true, true)); got != `{"include-tasks":true,"only-failed":true}` {
		t.Errorf("restart: %s", got)
	}
	for _, tc := range []struct {
		key   string
		value []byte
		want  configRecord
	}{
		{connectorConfigKey("c"), propsJSON(props), configRecord{Kind: configConnector, Connector: "c", Props: props}},
		{taskConfigKey("c", 1), propsJSON(props), configRecord{Kind: configTask, Connector: "c", Task: 1, Props: props}},
		{commitKey("c"), commitJSON(2), configRecord{Kind: configCommit, Connector: "c", Tasks: 2}},
		{targetStateKey("c"), targetJSON(StateRunning), configRecord{Kind: configTarget, Connector: "c", Target: StateRunning}},
		{targetStateKey("c"), targetJSON(StatePaused), configRecord{Kind: configTarget, Connector: "c", Target: StatePaused}},
		{restartKey("c"), restartJSON(false, true), configRecord{Kind: configRestart, Connector: "c", OnlyFailed: true}},
	} {
		got, err := parseConfigRecord(tc.key, tc.value)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, %v; want %+v", tc.key, got, err, tc.want)
		}
	}
}

func TestStatusRecords(t *testing.T) {
	// As Kafka Connect writes a task's status.
	java := `{"state":"FAILED","trace":"org.apache.kafka.connect.errors.ConnectException: boom\n\tat X","worker_id":"10.0.0.7:8083","generation":12}`
	r, ok, err := parseStatusRecord("status-task-my-conn-3", []byte(java))
	if err != nil || !ok || r.Connector != "my-conn" || r.Task != 3 || r.Value.State != StateFailed || r.Value.WorkerID != "10.0.0.7:8083" || r.Value.Generation != 12 || *r.Value.Trace == "" {
		t.Fatalf("task status: %+v %v %v", r, ok, err)
	}
	if got := string(statusJSON(StateRunning, "", "10.0.0.7:8083", 4)); got != `{"state":"RUNNING","trace":null,"worker_id":"10.0.0.7:8083","generation":4}` {
		t.Errorf("status: %s", got)
	}
	r, ok, err = parseStatusRecord(connectorStatusKey("c"), statusJSON(StatePaused, "why", "w:1", 2))
	if err != nil || !ok || r.Task != -1 || r.Value.State != StatePaused || *r.Value.Trace != "why" {
		t.Errorf("connector status: %+v %v %v", r, ok, err)
	}
	r, ok, err = parseStatusRecord(connectorStatusKey("c"), nil)
	if err != nil || !ok || !r.Tombstone {
		t.Errorf("tombstone: %+v %v %v", r, ok, err)
	}
	r, ok, err = parseStatusRecord(topicStatusKey("orders.v1", "my-conn"), topicStatusJSON("orders.v1", "my-conn", 0, 1700000000000))
	if err != nil || !ok || r.Topic != "orders.v1" || r.Connector != "my-conn" {
		t.Errorf("topic status: %+v %v %v", r, ok, err)
	}
	if got := string(topicStatusJSON("t", "c", 1, 5)); got != `{"topic":{"name":"t","connector":"c","task":1,"discoverTimestamp":5}}` {
		t.Errorf("topic status value: %s", got)
	}
	if _, ok, err := parseStatusRecord("something-else", []byte("x")); ok || err != nil {
		t.Errorf("an unknown key: %v %v", ok, err)
	}
	if _, _, err := parseStatusRecord("status-task-c-x", []byte(java)); err == nil {
		t.Error("status-task without a number parsed")
	}
}

// The group protocol in Kafka Connect's byte layout.
func TestConnectProtocol(t *testing.T) {
	md := encodeMemberMetadata(memberMetadata{URL: "http://a:8083/", ConfigOffset: 7})
	if got := hex.EncodeToString(md); got != "0000"+"000e"+hex.EncodeToString([]byte("http://a:8083/"))+"0000000000000007" {
		t.Errorf("metadata bytes: %s", got)
	}
	m, err := decodeMemberMetadata(md)
	if err != nil || m.URL != "http://a:8083/" || m.ConfigOffset != 7 {
		t.Errorf("metadata: %+v %v", m, err)
	}
	a := assignment{Leader: "w1", LeaderURL: "http://a:8083/", ConfigOffset: 9, Connectors: []string{"c"},
		Tasks: []TaskID{{"c", 0}, {"d", 1}}}
	b := encodeAssignment(a)
	want := "0000" + "0000" + "0002" + hex.EncodeToString([]byte("w1")) + "000e" + hex.EncodeToString([]byte("http://a:8083/")) +
		"0000000000000009" + "00000002" +
		"0001" + hex.EncodeToString([]byte("c")) + "00000002" + "ffffffff" + "00000000" +
		"0001" + hex.EncodeToString([]byte("d")) + "00000001" + "00000001"
	if got := hex.EncodeToString(b); got != want {
		t.Errorf("assignment bytes:\n%s\nwant\n%s", got, want)
	}
	got, err := decodeAssignment(b)
	if err != nil || !reflect.DeepEqual(got, a) {
		t.Errorf("assignment: %+v %v", got, err)
	}
	for i := range b {
		if _, err := decodeAssignment(b[:i]); err == nil {
			t.Errorf("a truncated assignment (%d of %d bytes) decoded", i, len(b))
		}
	}
}

func TestAssignEager(t *testing.T) {
	cases := []struct {
		name       string
		members    []string
		connectors []string
		tasks      map[string]int
		want       map[string]assignment
	}{
		{name: "no members", connectors: []string{"a"}, want: map[string]assignment{}},
		{name: "one member gets everything", members: []string{"m1"}, connectors: []string{"b", "a"}, tasks: map[string]int{"a": 2},
			want: map[string]assignment{"m1": {Connectors: []string{"a", "b"}, Tasks: []TaskID{{"a", 0}, {"a", 1}}}}},
		{name: "round robin continues from connectors into tasks", members: []string{"m2", "m1"}, connectors: []string{"sink", "src"},
			tasks: map[string]int{"sink": 2, "src": 1},
			want: map[string]assignment{
				"m1": {Connectors: []string{"sink"}, Tasks: []TaskID{{"sink", 0}, {"src", 0}}},
				"m2": {Connectors: []string{"src"}, Tasks: []TaskID{{"sink", 1}}},
			}},
		{name: "more members than work", members: []string{"m1", "m2", "m3"}, connectors: []string{"a"}, tasks: map[string]int{"a": 1},
			want: map[string]assignment{"m1": {Connectors: []string{"a"}}, "m2": {Tasks: []TaskID{{"a", 0}}}, "m3": {}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := assignEager(tc.members, tc.connectors, tc.tasks)
			if len(got) != len(tc.want) {
				t.Fatalf("members: %v", slices.Collect(maps.Keys(got)))
			}
			for m, w := range tc.want {
				if !reflect.DeepEqual(*got[m], w) {
					t.Errorf("%s: got %+v, want %+v", m, *got[m], w)
				}
			}
		})
	}
}

func FuzzConfigRecord(f *testing.F) {
	f.Add("connector-c", []byte(`{"properties":{"a":"b"}}`))
	f.Add("task-c-0", []byte(`{"properties":{"a":null}}`))
	f.Add("commit-c", []byte(`{"tasks":1}`))
	f.Add("target-state-c", []byte(`{"state":"PAUSED","state.v2":"STOPPED"}`))
	f.Add("restart-connector-c", []byte(`{"include-tasks":true}`))
	f.Fuzz(func(t *testing.T, key string, value []byte) {
		r, err := parseConfigRecord(key, value)
		if err != nil {
			return
		}
		if r.Kind == configCommit && (r.Tasks < 0 || r.Tasks > maxConfigTasks) {
			t.Fatalf("commit of %d tasks accepted", r.Tasks)
		}
	})
}

func FuzzStatusRecord(f *testing.F) {
	f.Add("status-connector-c", []byte(`{"state":"RUNNING","trace":null,"worker_id":"a:1","generation":1}`))
	f.Add("status-task-c-1", []byte(`{"state":"FAILED","trace":"x","worker_id":"a:1","generation":1}`))
	f.Add("status-topic-t:connector-c", []byte(`{"topic":{}}`))
	f.Fuzz(func(t *testing.T, key string, value []byte) {
		r, ok, err := parseStatusRecord(key, value)
		if err == nil && ok && value != nil && r.Topic == "" && r.Value == nil {
			t.Fatal("a status record without a value")
		}
	})
}

func FuzzGroupProtocol(f *testing.F) {
	f.Add(encodeMemberMetadata(memberMetadata{URL: "http://a/", ConfigOffset: 3}))
	f.Add(encodeAssignment(assignment{Leader: "l", Connectors: []string{"c"}, Tasks: []TaskID{{"c", 0}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeMemberMetadata(b)
		if a, err := decodeAssignment(b); err == nil {
			again, err := decodeAssignment(encodeAssignment(a))
			if err != nil || len(again.Connectors) != len(a.Connectors) || len(again.Tasks) != len(a.Tasks) {
				t.Fatalf("re-encoding changed %+v into %+v (%v)", a, again, err)
			}
		}
	})
}
