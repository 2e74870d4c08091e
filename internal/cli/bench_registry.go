package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
)

// registryBenchOptions are the flags of `sluice bench registry`.
type registryBenchOptions struct {
	registryOptions
	concurrency int
	schemas     int
	duration    time.Duration
	keep        bool
	json        bool
}

func newBenchRegistryCommand() *cobra.Command {
	var o registryBenchOptions
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Measure schema registrations and lookups by id per second against a schema registry",
		Long: "After an untimed warm-up, three phases, each from --concurrency HTTP clients with keep-alive connections:\n" +
			"  register  POST /subjects/{s}/versions of --schemas new Avro record schemas, each in a\n" +
			"            new subject (each one a new id, written to the registry's log);\n" +
			"  lookup    GET /schemas/ids/{id} over those ids for --duration (what a consumer's\n" +
			"            deserializer asks once per id; the registry answers from memory);\n" +
			"  floor     GET /schemas/types for --duration: the HTTP round trip of the same listener,\n" +
			"            the reference lookups are read against. Floor and lookup take turns in ten\n" +
			"            slices each, so that the machine's load weighs on both alike.\n" +
			"The subjects are deleted (soft, then permanently) at the end unless --keep.\n" +
			"Works against any registry with Confluent's REST API.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBenchRegistry(contextOf(cmd), cmd, &o, cmd.OutOrStdout())
		},
	}
	o.registryOptions.register(cmd)
	f := cmd.Flags()
	f.IntVar(&o.concurrency, "concurrency", 8, "concurrent HTTP clients")
	f.IntVar(&o.schemas, "schemas", 1000, "schemas to register")
	f.DurationVar(&o.duration, "duration", 5*time.Second, "how long the floor and lookup phases run")
	f.BoolVar(&o.keep, "keep", false, "keep the benchmark's subjects instead of deleting them")
	f.BoolVar(&o.json, "json", false, "print the result as one JSON object")
	return cmd
}

// registryPhase is one phase's result; JSON names are stable for scripts.
type registryPhase struct {
	Phase          string     `json:"phase"`
	Requests       int64      `json:"requests"`
	Errors         int64      `json:"errors"`
	Seconds        float64    `json:"seconds"`
	RequestsPerSec float64    `json:"requests_per_sec"`
	LatencyMs      *latencyMs `json:"latency_ms,omitempty"`
}

type registryBenchResult struct {
	Concurrency int             `json:"concurrency"`
	Phases      []registryPhase `json:"phases"`
	// LookupToFloor is lookups per second over the floor's requests per second.
	LookupToFloor float64 `json:"lookup_to_floor"`
}

func runBenchRegistry(ctx context.Context, cmd *cobra.Command, o *registryBenchOptions, out io.Writer) error {
	if o.concurrency < 1 || o.schemas < 1 || o.duration <= 0 {
		return errors.New("--concurrency and --schemas must be at least 1 and --duration positive")
	}
	rc, err := o.registryOptions.client(cmd)
	if err != nil {
		return err
	}
	defer rc.close()
	// The phases outlast --timeout: bound each request by it instead of the whole run.
	rc.ctx = ctx
	rc.http.Timeout = o.timeout
	if t, ok := rc.http.Transport.(*http.Transport); ok {
		t.MaxIdleConnsPerHost = o.concurrency
		t.MaxConnsPerHost = o.concurrency
	}
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	subject := func(i int) string { return fmt.Sprintf("sluice-bench-%s-%d-value", run, i) }
	res := registryBenchResult{Concurrency: o.concurrency}

	getTypes := func(int) error { return rc.call(http.MethodGet, "/schemas/types", nil, nil, nil) }
	// Warm up: open the connections and let both sides' allocators settle, untimed.
	benchRequests(ctx, o.concurrency, o.duration/5, 0, getTypes)

	ids := make([]int, o.schemas)
	register := benchRequests(ctx, o.concurrency, 0, o.schemas, func(i int) error {
		schema := fmt.Sprintf(`{"type":"record","name":"Bench%d","namespace":"sluice.bench.r%s","fields":[{"name":"id","type":"long"},{"name":"name","type":"string","default":""}]}`, i, run)
		var got struct {
			ID int `json:"id"`
		}
		if err := rc.call(http.MethodPost, "/subjects/"+seg(subject(i))+"/versions", nil, map[string]any{"schema": schema}, &got); err != nil {
			return err
		}
		ids[i] = got.ID
		return nil
	})
	if register.errors > 0 {
		return fmt.Errorf("%d of %d registrations failed", register.errors, o.schemas)
	}

	paths := make([]string, len(ids))
	for i, id := range ids {
		paths[i] = fmt.Sprintf("/schemas/ids/%d", id)
	}
	// Check one answer before timing the rest.
	var first struct {
		Schema string `json:"schema"`
	}
	if err := rc.call(http.MethodGet, paths[0], nil, nil, &first); err != nil || first.Schema == "" {
		return fmt.Errorf("GET %s: %v (schema %q)", paths[0], err, first.Schema)
	}
	getByID := func(i int) error { return rc.call(http.MethodGet, paths[i%len(paths)], nil, nil, nil) }
	// The floor and the lookups take turns in ten slices each, so that a change in the machine's
	// load during the run weighs on both alike.
	var floor, lookup benchSample
	slice := o.duration / 10
	for range 10 {
		floor.add(benchRequests(ctx, o.concurrency, slice, 0, getTypes))
		lookup.add(benchRequests(ctx, o.concurrency, slice, 0, getByID))
	}
	res.Phases = append(res.Phases, floor.phase("floor"), register.phase("register"), lookup.phase("lookup"))
	if f := res.Phases[0].RequestsPerSec; f > 0 {
		res.LookupToFloor = res.Phases[2].RequestsPerSec / f
	}

	if !o.keep {
		for i := range o.schemas {
			for _, q := range []string{"", "?permanent=true"} {
				if err := rc.call(http.MethodDelete, "/subjects/"+seg(subject(i))+q, nil, nil, nil); err != nil {
					return fmt.Errorf("delete %s: %w", subject(i), err)
				}
			}
		}
	}

	if o.json {
		return json.NewEncoder(out).Encode(res)
	}
	for _, p := range res.Phases {
		fmt.Fprintf(out, "%-8s %8d requests in %6.2fs: %9.0f /s, %d errors", p.Phase, p.Requests, p.Seconds, p.RequestsPerSec, p.Errors)
		if p.LatencyMs != nil {
			fmt.Fprintf(out, "; latency ms: %s", p.LatencyMs)
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "lookups / floor: %.2f (concurrency %d)\n", res.LookupToFloor, o.concurrency)
	return nil
}

// benchSample is what some calls took: how long each successful one took, how many failed,
// and the wall time they ran in.
type benchSample struct {
	latencies []time.Duration
	errors    int64
	elapsed   time.Duration
}

func (s *benchSample) add(o benchSample) {
	s.latencies = append(s.latencies, o.latencies...)
	s.errors += o.errors
	s.elapsed += o.elapsed
}

func (s *benchSample) phase(name string) registryPhase {
	p := registryPhase{Phase: name, Requests: int64(len(s.latencies)), Errors: s.errors, Seconds: s.elapsed.Seconds(), LatencyMs: summarize(s.latencies)}
	if p.Seconds > 0 {
		p.RequestsPerSec = float64(p.Requests) / p.Seconds
	}
	return p
}

// benchRequests runs do from workers goroutines, either for d or for n calls in all (d == 0),
// and times each call.
func benchRequests(ctx context.Context, workers int, d time.Duration, n int, do func(i int) error) benchSample {
	var next, errs atomic.Int64
	lat := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if d > 0 && time.Now().After(deadline) {
					return
				}
				i := int(next.Add(1) - 1)
				if d == 0 && i >= n {
					return
				}
				t := time.Now()
				if err := do(i); err != nil {
					errs.Add(1)
					continue
				}
				lat[w] = append(lat[w], time.Since(t))
			}
		}()
	}
	wg.Wait()
	s := benchSample{errors: errs.Load(), elapsed: time.Since(start)}
	for _, l := range lat {
		s.latencies = append(s.latencies, l...)
	}
	return s
}
