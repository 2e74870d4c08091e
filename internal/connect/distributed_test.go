package connect

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// While the group has no leader, a distributed worker answers changes with Kafka Connect's
// 409 and still serves reads from its view.
func TestDistributedHandlerWithoutLeader(t *testing.T) {
	w, err := NewWorker(WorkerConfig{Offsets: newTopicOffsets()})
	if err != nil {
		t.Fatal(err)
	}
	d := &Distributed{w: w}
	h := DistributedHandler(d, nil)
	cases := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"create", "POST", "/connectors", `{"name":"c","config":{"connector.class":"x"}}`, 409,
			`{"error_code":409,"message":"Cannot complete request because of a conflicting operation (e.g. worker rebalance)"}`},
		{"delete", "DELETE", "/connectors/c", "", 409, "worker rebalance"},
		{"pause", "PUT", "/connectors/c/pause", "", 409, "worker rebalance"},
		{"task configs", "POST", "/connectors/c/tasks", `[]`, 409, "worker rebalance"},
		{"list", "GET", "/connectors", "", 200, `[]`},
		{"status", "GET", "/connectors/c/status", "", 404, `{"error_code":404,"message":"Connector c not found"}`},
		{"validate is not a change", "PUT", "/connector-plugins/nope/config/validate", `{}`, 200, `"error_count":`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body)))
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) {
				t.Errorf("%s %s: %d %s; want %d with %s", tc.method, tc.path, rec.Code, rec.Body, tc.status, tc.want)
			}
		})
	}
	// A forwarded request reaching a worker that is not the leader is not forwarded again.
	d.member.leaderURL = "http://127.0.0.1:1/"
	req := httptest.NewRequest("DELETE", "/connectors/c", nil)
	req.Header.Set(forwardedHeader, "1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusConflict {
		t.Errorf("a forwarded request: %d %s", rec.Code, rec.Body)
	}
}

func TestParseDistributedSettings(t *testing.T) {
	s, err := parseDistributedSettings(map[string]string{"group.id": "g"})
	if err != nil || s.configTopic != "connect-configs" || s.offsetTopic != "connect-offsets" || s.statusTopic != "connect-status" ||
		s.offsetPartitions != 25 || s.statusPartitions != 5 || s.configRF != -1 || s.session.Milliseconds() != 10000 ||
		s.heartbeat.Milliseconds() != 3000 || s.rebalance.Milliseconds() != 60000 || s.syncWait.Milliseconds() != 3000 {
		t.Errorf("defaults: %+v %v", s, err)
	}
	for _, bad := range []map[string]string{{}, {"group.id": "g", "offset.storage.partitions": "0"},
		{"group.id": "g", "status.storage.replication.factor": "0"}, {"group.id": "g", "session.timeout.ms": "x"}} {
		if _, err := parseDistributedSettings(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
