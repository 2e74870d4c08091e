// Package httpapi is Sluice's HTTP listener: Prometheus metrics at /metrics, liveness at
// /healthz, readiness at /readyz, and Go's profiler under /debug/pprof/. Later the admin API, the web console, the schema registry
// and the REST proxy mount here too.
//
// The server owns one goroutine (http.Server.Serve) from Start until Close.
//
//	srv, err := httpapi.Start(httpapi.Options{Addr: "localhost:9644", Gatherer: reg, Ready: b.Ready})
//	defer srv.Close()
package httpapi
