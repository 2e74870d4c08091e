// Command kfake runs franz-go's reference broker (kfake) as a separate process, persisting to
// a data directory, so that bench/compare.sh measures Sluice and kfake with the same client
// and the same load in one run. Benchmark tooling only; not part of the product.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	port := flag.Int("port", 9092, "listen port on 127.0.0.1")
	dataDir := flag.String("data-dir", "", "persist to this directory (empty: memory only)")
	syncWrites := flag.Bool("sync-writes", false, "fsync every batch")
	flag.Parse()
	opts := []kfake.Opt{kfake.Ports(*port), kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(6)}
	if *dataDir != "" {
		opts = append(opts, kfake.DataDir(*dataDir))
	}
	if *syncWrites {
		opts = append(opts, kfake.SyncWrites())
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfake:", err)
		os.Exit(1)
	}
	fmt.Println("kfake listening on", c.ListenAddrs()[0])
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	c.Close()
}
