package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The old clients' harness: a throwaway ZooKeeper (Debian's package, which Burrow needs for
// its own coordination) and Debian's Burrow 1.2.1, each started by the test as its own child
// process on loopback ports, with a temporary config and data directory, killed at the end.

const (
	zookeeperJar = "/usr/share/java/zookeeper.jar"
	// slf4jSimpleJar gives ZooKeeper's log a destination (its output, kept for failure
	// reports); without it (Debian's libslf4j-java) ZooKeeper logs nothing.
	slf4jSimpleJar = "/usr/share/java/slf4j-simple.jar"
)

func requireZooKeeper(t *testing.T) {
	requireTool(t, func() error {
		if _, err := exec.LookPath("java"); err != nil {
			return err
		}
		_, err := os.Stat(zookeeperJar)
		return err
	}, "ZooKeeper (Debian's zookeeper package)")
}

func requireBurrow(t *testing.T) {
	requireTool(t, func() error { _, err := exec.LookPath("Burrow"); return err }, "Burrow (Debian's burrow package)")
}

// childProcess is an external server the test started; its output is kept for failure reports.
type childProcess struct {
	name   string
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan struct{}
}

// startChild starts name with args in dir; it is killed (by its own pid) when the test ends,
// and its output is printed if the test failed.
func startChild(t *testing.T, dir, name string, args ...string) *childProcess {
	t.Helper()
	c := &childProcess{name: name, cmd: exec.Command(name, args...), logs: &syncBuffer{}, exited: make(chan struct{})}
	c.cmd.Dir = dir
	c.cmd.Stdout, c.cmd.Stderr = c.logs, c.logs
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		<-c.exited
		if t.Failed() {
			t.Logf("%s output:\n%s", name, tail(c.logs.String(), 60))
		}
	})
	return c
}

// waitListening waits until addr accepts connections, failing if the process exits first.
func (c *childProcess) waitListening(t *testing.T, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-c.exited:
			t.Fatalf("%s exited during start: %v\n%s", c.name, c.cmd.ProcessState, tail(c.logs.String(), 40))
		default:
		}
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening on %s after %s\n%s", c.name, addr, timeout, tail(c.logs.String(), 40))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startZooKeeper runs a standalone ZooKeeper on a free loopback port with a temporary data
// directory and returns its address.
func startZooKeeper(t *testing.T) string {
	t.Helper()
	requireZooKeeper(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cfg := fmt.Sprintf("tickTime=2000\ndataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\nmaxClientCnxns=0\n",
		filepath.Join(dir, "data"), port)
	if err := os.WriteFile(filepath.Join(dir, "zoo.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	zk := startChild(t, dir, "java", "-Xmx256m", "-cp", zookeeperJar+":"+slf4jSimpleJar,
		"org.apache.zookeeper.server.ZooKeeperServerMain", filepath.Join(dir, "zoo.cfg"))
	zk.waitListening(t, addr, 60*time.Second)
	// Listening is not serving: a client connecting before the server has loaded its
	// database is closed on, and Burrow gives up at once. Wait for srvr's "Mode:".
	deadline := time.Now().Add(60 * time.Second)
	for !zkServing(addr) {
		if time.Now().After(deadline) {
			t.Fatalf("ZooKeeper not serving on %s after 60s\n%s", addr, tail(zk.logs.String(), 40))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return addr
}

// zkServing asks ZooKeeper's srvr four-letter command whether it serves.
func zkServing(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte("srvr")); err != nil {
		return false
	}
	out, _ := io.ReadAll(conn)
	return strings.Contains(string(out), "Mode: standalone")
}

// burrow is a running Burrow with one Kafka cluster ("sluice") and one consumer module
// reading its __consumer_offsets.
type burrow struct {
	proc     *childProcess
	httpAddr string
}

// startBurrow runs Burrow against the brokers at kafkaAddr (comma-separated), with sarama speaking kafkaVersion
// (Burrow's client-profile kafka-version), refreshing topics and broker offsets every second.
func startBurrow(t *testing.T, zkAddr, kafkaAddr, kafkaVersion string) *burrow {
	t.Helper()
	requireBurrow(t)
	dir := t.TempDir()
	httpAddr := freeAddr(t)
	cfg := fmt.Sprintf(`[general]
pidfile="%[1]s/burrow.pid"

[logging]
level="debug"

[zookeeper]
servers=["%[2]s"]
timeout=6
root-path="/burrow"

[client-profile.sluice]
client-id="burrow-e2e"
kafka-version="%[3]s"

[cluster.sluice]
class-name="kafka"
servers=[%[4]s]
client-profile="sluice"
topic-refresh=1
offset-refresh=1

[consumer.sluice]
class-name="kafka"
cluster="sluice"
servers=[%[4]s]
client-profile="sluice"
group-blacklist="^(console-consumer-|python-kafka-consumer-|quick-).*$"
group-whitelist=""

[httpserver.default]
address="%[5]s"

[storage.default]
class-name="inmemory"
workers=4
intervals=10
expire-group=604800
min-distance=1

[evaluator.default]
class-name="caching"
expire-cache=1
`, dir, zkAddr, kafkaVersion, `"`+strings.ReplaceAll(kafkaAddr, ",", `","`)+`"`, httpAddr)
	if err := os.WriteFile(filepath.Join(dir, "burrow.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startChild(t, dir, "Burrow", "--config-dir", dir)
	p.waitListening(t, httpAddr, 60*time.Second)
	return &burrow{proc: p, httpAddr: httpAddr}
}

// get decodes Burrow's JSON answer to path into v; it reports false on an error answer
// (Burrow answers 404 with "error": true for what it does not know yet).
func (b *burrow) get(path string, v any) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.httpAddr+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK {
		return false, nil
	}
	return true, json.Unmarshal(body, v)
}

// topicOffsets is Burrow's view of a topic's broker offsets (the log end offsets it got from
// ListOffsets), by partition.
func (b *burrow) topicOffsets(topic string) []int64 {
	var r struct {
		Offsets []int64 `json:"offsets"`
	}
	if ok, err := b.get("/v3/kafka/sluice/topic/"+topic, &r); !ok || err != nil {
		return nil
	}
	return r.Offsets
}

// burrowLag is Burrow's lag answer for a group.
type burrowLag struct {
	Status     string `json:"status"`
	TotalLag   uint64 `json:"totallag"`
	Partitions []struct {
		Topic      string `json:"topic"`
		Partition  int32  `json:"partition"`
		CurrentLag uint64 `json:"current_lag"`
		End        *struct {
			Offset int64  `json:"offset"`
			Lag    uint64 `json:"lag"`
		} `json:"end"`
	} `json:"partitions"`
}

// lag is the group's lag as Burrow reports it, nil while Burrow does not know the group.
func (b *burrow) lag(group string) *burrowLag {
	var r struct {
		Status burrowLag `json:"status"`
	}
	if ok, err := b.get("/v3/kafka/sluice/consumer/"+group+"/lag", &r); !ok || err != nil {
		return nil
	}
	return &r.Status
}
