// Package server is Sluice's Kafka listener: it accepts TCP connections,
// reads request frames, hands each request to the handler registered in
// internal/api and writes the responses.
//
// # Invariants
//
//   - A frame's 4-byte size prefix is checked against [8,
//     socket.request.max.bytes] before anything is allocated for it; outside
//     that range the connection is closed. A frame that cannot be parsed, an
//     unknown api key or an unsupported version (other than ApiVersions)
//     closes that one connection with a log line, as Kafka does; other
//     connections are never affected.
//   - Request headers v0–v2 are parsed; the header version follows from the
//     api key and version (kmsg knows which versions are flexible).
//     ApiVersions at an unsupported version is answered with a v0 response
//     carrying UNSUPPORTED_VERSION so the client can downgrade.
//   - Handlers run one at a time per connection, in request order, on the
//     read loop; a handler that waits returns api.Response.Finish, which runs
//     on its own goroutine. Responses are written strictly in request order.
//     A response with no body (Produce acks=0) writes nothing.
//   - Fetch record sets never pass through a response buffer: the response
//     is encoded with placeholders, which are replaced on the wire by the
//     record sets' own WriteTo (sendfile from segment files over TCP), with
//     the length prefixes and the frame size rewritten to match.
//   - A connection with no bytes read, no response written and nothing owed
//     for connections.max.idle.ms is closed.
//   - Shutdown stops accepting and reading, lets requests already read
//     finish (their waits end at once) and writes their responses before
//     closing; Close drops everything at once.
//
// # Example
//
//	srv, err := server.New(server.Config{Env: env, Logger: logger})
//	if err != nil { ... }
//	ln, err := net.Listen("tcp", "localhost:9092")
//	if err != nil { ... }
//	go srv.Serve(ln)
//	...
//	srv.Shutdown(ctx)
package server
