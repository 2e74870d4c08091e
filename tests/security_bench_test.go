package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkSecurityThroughput measures what TLS and SASL_SSL cost against PLAINTEXT, in one run
// on one `sluice serve` process with three listeners (PLAINTEXT, SSL, SASL_SSL with
// SCRAM-SHA-256; certificates from a test CA, TLS 1.3 negotiated by Go's client):
//
//	go test ./tests -run '^$' -bench SecurityThroughput -benchtime 1x
//
// Each round runs `sluice bench produce` (1 KiB records, acks=all, 6 partitions, 8 s) and then
// `sluice bench consume` (the whole topic) on each listener in turn, its own topic each, and
// reads the broker's CPU time (utime+stime from /proc/PID/stat) around every run. Reported:
// records/s of SSL and SASL_SSL as ratios of PLAINTEXT's (median over rounds), and the broker's
// CPU seconds per GB for each listener (produce and consume).
func BenchmarkSecurityThroughput(b *testing.B) {
	const rounds = 3
	protocols := []string{"PLAINTEXT", "SSL", "SASL_SSL"}
	for range b.N {
		ca := newTestCA(b)
		srv := ca.serverCert("broker", "/CN=localhost")
		sslAddr, saslAddr := freeHostAddr(b, "127.0.0.1"), freeHostAddr(b, "127.0.0.1")
		c := startProcClusterEach(b, 1, false, func(int32) []string {
			return []string{"--override", "listeners=PLAINTEXT://{KAFKA_ADDR},SSL://" + sslAddr + ",SASL_SSL://" + saslAddr}
		},
			"--log-level", "info",
			"--add-scram", "SCRAM-SHA-256=[name=bench,password=bench-secret]",
			"--override", "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
			"--override", "listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-256",
			"--override", "ssl.keystore.type=PEM", "--override", "ssl.keystore.location="+srv.PEMFile,
			"--override", "ssl.truststore.type=PEM", "--override", "ssl.truststore.location="+ca.CertFile)
		nd := c.node(1)
		dir := b.TempDir()
		props := map[string]string{"PLAINTEXT": ""}
		props["SSL"] = writeProps(b, dir, "ssl.properties", "security.protocol=SSL\nssl.truststore.location="+ca.CertFile+"\n")
		props["SASL_SSL"] = writeProps(b, dir, "sasl_ssl.properties", "security.protocol=SASL_SSL\nssl.truststore.location="+ca.CertFile+
			"\nsasl.mechanism=SCRAM-SHA-256\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"bench\" password=\"bench-secret\";\n")
		addrs := map[string]string{"PLAINTEXT": nd.kafkaAddr, "SSL": sslAddr, "SASL_SSL": saslAddr}

		produceRate := map[string][]float64{}
		consumeRate := map[string][]float64{}
		cpuProduce, cpuConsume := map[string]float64{}, map[string]float64{}
		gbProduce, gbConsume := map[string]float64{}, map[string]float64{}
		pid := nd.cmd.Process.Pid
		for r := range rounds {
			for _, proto := range protocols {
				topic := fmt.Sprintf("bench-%s-%d", strings.ToLower(proto), r)
				syncDisks(b)
				before := cpuSecondsOf(b, pid)
				p := runBench(b, "produce", addrs[proto], props[proto], "--topic", topic, "--duration", "8s", "--acks", "all", "--partitions", "6")
				mid := cpuSecondsOf(b, pid)
				cr := runBench(b, "consume", addrs[proto], props[proto], "--topic", topic)
				after := cpuSecondsOf(b, pid)
				if p.Errors > 0 || cr.Records < p.Records {
					b.Fatalf("%s round %d: produce %+v, consume %+v", proto, r, p, cr)
				}
				produceRate[proto] = append(produceRate[proto], p.RecordsPerSec)
				consumeRate[proto] = append(consumeRate[proto], cr.RecordsPerSec)
				cpuProduce[proto] += mid - before
				cpuConsume[proto] += after - mid
				gbProduce[proto] += float64(p.Bytes) / 1e9
				gbConsume[proto] += float64(cr.Bytes) / 1e9
				b.Logf("round %d %-9s produce %8.0f rec/s (%5.1f MB/s), consume %8.0f rec/s (%5.1f MB/s), broker CPU %.2f s + %.2f s",
					r, proto, p.RecordsPerSec, p.MBPerSec, cr.RecordsPerSec, cr.MBPerSec, mid-before, after-mid)
			}
		}
		for _, proto := range protocols {
			name := strings.ToLower(proto)
			if proto != "PLAINTEXT" {
				b.ReportMetric(median(produceRate[proto])/median(produceRate["PLAINTEXT"]), name+"_produce_ratio")
				b.ReportMetric(median(consumeRate[proto])/median(consumeRate["PLAINTEXT"]), name+"_consume_ratio")
			}
			b.ReportMetric(cpuProduce[proto]/gbProduce[proto], name+"_produce_cpu_s/GB")
			b.ReportMetric(cpuConsume[proto]/gbConsume[proto], name+"_consume_cpu_s/GB")
		}
	}
}

func writeProps(b *testing.B, dir, name, text string) string {
	b.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// runBench runs `sluice bench MODE --json` against addr (with --command-config when props is
// set) and returns its result.
func runBench(b *testing.B, mode, addr, props string, args ...string) benchResultFull {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	full := append([]string{"bench", mode, "--brokers", addr, "--json"}, args...)
	if props != "" {
		full = append(full, "--command-config", props)
	}
	cmd := exec.CommandContext(ctx, sluiceBin, full...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("sluice %s: %v\n%s", strings.Join(full, " "), err, stderr.String())
	}
	var r benchResultFull
	if err := json.Unmarshal(out, &r); err != nil {
		b.Fatalf("sluice bench %s output %q: %v", mode, out, err)
	}
	return r
}

type benchResultFull struct {
	Records       int64   `json:"records"`
	Bytes         int64   `json:"bytes"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	Errors        int64   `json:"errors"`
}

// cpuSecondsOf is a process's user+system CPU time so far.
func cpuSecondsOf(b *testing.B, pid int) float64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The command name (field 2) may hold spaces; the fields after its ')' are fixed.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / clockTicks
}

// clockTicks is USER_HZ, 100 on Linux.
const clockTicks = 100

// median of xs (not empty); xs is reordered.
func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}
