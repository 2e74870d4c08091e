package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestConnectSyslogRsyslog: Debian's rsyslogd tails a log file and forwards every line over TCP
// in RFC 5424 format to the syslog source; every line arrives in the topic, in order, parsed into
// JSON fields. util-linux's logger sends RFC 3164 messages over UDP to a second connector.
func TestConnectSyslogRsyslog(t *testing.T) {
	if testing.Short() {
		t.Skip("starts rsyslogd, a broker and a Connect worker")
	}
	rsyslogd, err := exec.LookPath("rsyslogd")
	if err != nil {
		rsyslogd, err = exec.LookPath("/usr/sbin/rsyslogd") // not on a non-root PATH
	}
	if err != nil {
		requireTool(t, func() error { return err }, "rsyslog (apt install rsyslog)")
	}
	n := startNode(t)
	dir := t.TempDir()
	w := startConnectWorker(t, n, filepath.Join(dir, "offsets.json"), "--override", "offset.flush.interval.ms=300",
		"--override", "value.converter.schemas.enable=false", "--override", "key.converter=org.apache.kafka.connect.storage.StringConverter")
	tcpAddr, udpAddr := freeAddr(t), freeAddr(t)
	port := func(a string) string { return a[strings.LastIndexByte(a, ':')+1:] }
	w.mustCall("POST", "/connectors", fmt.Sprintf(`{"name":"syslog-tcp","config":{"connector.class":"io.confluent.connect.syslog.SyslogSourceConnector",
		"syslog.listener":"TCP","syslog.port":"%s","kafka.topic":"logs"}}`, port(tcpAddr)), 201)
	w.mustCall("POST", "/connectors", fmt.Sprintf(`{"name":"syslog-udp","config":{"connector.class":"SyslogSourceConnector",
		"syslog.listener":"UDP","syslog.port":"%s","kafka.topic":"udp-logs"}}`, port(udpAddr)), 201)
	w.waitState("syslog-tcp", "RUNNING")
	w.waitState("syslog-udp", "RUNNING")

	logFile := filepath.Join(dir, "app.log")
	os.WriteFile(logFile, nil, 0o644)
	conf := filepath.Join(dir, "rsyslog.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`global(workDirectory=%q)
module(load="imfile" mode="polling" PollingInterval="1")
input(type="imfile" File=%q Tag="myapp" Severity="info" Facility="local0")
action(type="omfwd" target="127.0.0.1" port=%q protocol="tcp" template="RSYSLOG_SyslogProtocol23Format"
       queue.type="LinkedList" action.resumeRetryCount="-1" action.resumeInterval="1")
`, dir, logFile, port(tcpAddr))), 0o644)
	cmd := exec.Command(rsyslogd, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid"))
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s", logs.String())
		}
	})
	const lines = 500
	f, err := os.OpenFile(logFile, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range lines {
		fmt.Fprintf(f, "request %04d served in %d ms\n", i, i%97)
	}
	f.Close()

	type event struct {
		Facility, Severity, Version int
		Level, Host, Message        string
		AppName                     string `json:"app_name"`
		Timestamp                   *int64
	}
	read := func(topic string, want int) []event {
		cl := n.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var evs []event
		for len(evs) < want {
			fetches := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("%s: %d of %d messages arrived", topic, len(evs), want)
			}
			fetches.EachRecord(func(r *kgo.Record) {
				var e event
				if err := json.Unmarshal(r.Value, &e); err != nil {
					t.Fatalf("%s: %v", r.Value, err)
				}
				evs = append(evs, e)
			})
		}
		return evs
	}
	evs := read("logs", lines)
	for i, e := range evs {
		if want := fmt.Sprintf("request %04d served in %d ms", i, i%97); e.Message != want || e.AppName != "myapp" ||
			e.Facility != 16 || e.Level != "info" || e.Version != 1 || e.Host == "" || e.Timestamp == nil {
			t.Fatalf("message %d: %+v, want text %q from myapp at local0.info", i, e, want)
		}
	}

	// RFC 3164 over UDP from logger.
	for i := range 20 {
		runClient(t, 10*time.Second, "", "logger", "-n", "127.0.0.1", "-P", port(udpAddr), "-d", "--rfc3164", "-t", "billing", "-p", "auth.warning", "invoice "+strconv.Itoa(i))
	}
	udp := read("udp-logs", 20)
	for i, e := range udp {
		if e.Message != "invoice "+strconv.Itoa(i) || e.AppName != "billing" || e.Facility != 4 || e.Level != "warning" || e.Version != 0 {
			t.Fatalf("UDP message %d: %+v", i, e)
		}
	}
}
