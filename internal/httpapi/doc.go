// Package httpapi is Sluice's HTTP listener: Prometheus metrics at /metrics, liveness at
// /healthz, readiness at /readyz, and Go's profiler under /debug/pprof/. Later the admin API, the web console, the schema registry
// and the REST proxy mount here too.
//
// Readiness is whatever Options.Ready says; AllReady joins checks so that /readyz's 503 body
// lists every reason, and BrokerReady is a broker's check: registered with the controller (a
// broker epoch), that registration visible and unfenced in its own metadata (the controller
// unfences only a caught-up broker), not in controlled shutdown.
//
// The server owns one goroutine (http.Server.Serve) from Start until Close.
//
//	srv, err := httpapi.Start(httpapi.Options{Addr: "localhost:9644", Gatherer: reg, Ready: b.Ready})
//	defer srv.Close()
package httpapi
