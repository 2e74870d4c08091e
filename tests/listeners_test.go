package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// startWithProperties runs `sluice serve --config` with props written as a properties file,
// where {ADDR1}, {ADDR2}, ... are replaced by free loopback addresses and {DIR} by a
// directory for the test's files; the node's kafkaAddr is {ADDR1}. A start that fails to bind
// is retried on new addresses.
func startWithProperties(t *testing.T, props string, extraArgs ...string) (*node, []string) {
	t.Helper()
	return startWithPropertiesSetup(t, props, nil, extraArgs...)
}

// startWithPropertiesSetup is startWithProperties with setup called on the node before it
// starts (e.g. to set httpsClient).
func startWithPropertiesSetup(t *testing.T, props string, setup func(*node), extraArgs ...string) (*node, []string) {
	t.Helper()
	dir := t.TempDir()
	n := &node{t: t, dataDir: filepath.Join(dir, "data"), listenersConfig: true}
	if setup != nil {
		setup(n)
	}
	t.Cleanup(func() {
		n.kill()
		if t.Failed() && n.logs != nil {
			t.Logf("sluice output:\n%s", tail(n.logs.String(), 60))
		}
	})
	for attempt := 1; ; attempt++ {
		addrs := []string{freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)}
		text := strings.ReplaceAll(props, "{DIR}", dir)
		for i, a := range addrs {
			text = strings.ReplaceAll(text, fmt.Sprintf("{ADDR%d}", i+1), a)
		}
		file := filepath.Join(dir, "server.properties")
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		n.kafkaAddr, n.httpAddr, n.controllerAddr = addrs[0], freeAddr(t), freeAddr(t)
		n.extraArgs = append([]string{"--config", file}, extraArgs...)
		err := n.tryStart()
		if err == nil {
			return n, addrs
		}
		if !strings.Contains(n.logs.String(), "address already in use") || attempt == 5 {
			t.Fatal(err)
		}
		os.RemoveAll(n.dataDir)
	}
}

// TestListenersProcess: a broker process with a PLAINTEXT and an INTERNAL listener (Kafka's
// listeners, listener.security.protocol.map); franz-go and kcat clients of each listener see
// that listener's address in Metadata, and produce and consume through it.
func TestListenersProcess(t *testing.T) {
	n, addrs := startWithProperties(t, `
listeners=PLAINTEXT://{ADDR1},INTERNAL://{ADDR2}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT
`)
	n.createTopic("two-listeners", 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, addr := range addrs[:2] {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("two-listeners"))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		meta, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if len(meta.Brokers) != 1 || net.JoinHostPort(meta.Brokers[0].Host, strconv.Itoa(int(meta.Brokers[0].Port))) != addr {
			t.Fatalf("franz-go on %s: Metadata brokers %+v", addr, meta.Brokers)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("via-%d", i))}).FirstErr(); err != nil {
			t.Fatalf("produce through %s: %v", addr, err)
		}
	}
	requireKcat(t)
	for _, addr := range addrs[:2] {
		out := runClient(t, 30*time.Second, "", "kcat", "-b", addr, "-L", "-J")
		var listing struct {
			Brokers []struct {
				Name string `json:"name"`
			} `json:"brokers"`
		}
		if err := json.Unmarshal([]byte(out), &listing); err != nil {
			t.Fatalf("kcat -L -J: %v\n%s", err, out)
		}
		if len(listing.Brokers) != 1 || !strings.HasPrefix(listing.Brokers[0].Name, addr) {
			t.Fatalf("kcat on %s sees brokers %+v", addr, listing.Brokers)
		}
		got := runClient(t, 30*time.Second, "", "kcat", "-b", addr, "-C", "-t", "two-listeners", "-o", "beginning", "-e", "-q")
		if got != "via-0\nvia-1\n" {
			t.Fatalf("kcat consuming through %s: %q", addr, got)
		}
	}
}
