// Package api holds Sluice's Kafka API handlers: one file per API key, named
// after the key (00_produce.go, 01_fetch.go, 18_api_versions.go, …), and the
// registry that ties them to the server.
//
// # The pattern
//
// Every API file opens with a header comment giving the version range Sluice
// serves, "Behavior:" bullets (what the handler does, in Kafka's terms) and
// "Version notes:" (what changes between versions). Beside the handler it
// registers itself:
//
//	func init() { Register(API{Key: 18, MinVersion: 0, MaxVersion: 4, Handle: handleApiVersions}) }
//
//	func handleApiVersions(ctx context.Context, env *Env, req *Request) (Response, error) {
//		r := req.Msg.(*kmsg.ApiVersionsRequest)
//		resp := r.ResponseKind().(*kmsg.ApiVersionsResponse)
//		...
//		return Reply(resp), nil
//	}
//
// ApiVersions is derived from the registry (APIs), never hand-listed, so a key
// is advertised exactly when a handler for it exists.
//
// # Contract between server and handlers
//
//   - The server decodes the request body with kmsg at the version in the
//     request header, after checking the version against the registered range;
//     a handler never sees a version outside its range. req.Msg's version is set.
//   - A handler answers with a kmsg response of the request's version
//     (ResponseKind gives one), with Kafka error codes in its error fields.
//     Kafka error codes are chosen only in this package (see ErrorCode).
//     A returned error is for failures that have no Kafka answer: the server
//     logs it and closes that one connection.
//   - Handlers run on the connection's read loop, one at a time and in request
//     order, so the effects of pipelined requests (appends, metadata changes)
//     happen in the order the client sent them. A handler that must wait (a
//     fetch long poll, acks=all, a controller commit) returns quickly with
//     Response.Finish set; the server runs Finish on its own goroutine, so later
//     requests on the connection proceed meanwhile, and still writes every
//     response in request order.
//   - Fetch record sets are not copied into the response: the handler puts a
//     Splice's placeholder where the records go and the server writes the
//     record set in its place, with sendfile when it comes from a segment file.
//   - Response.Msg == nil means "send nothing" (Produce with acks=0).
//   - Byte slices in req.Msg (Produce records, unknown tagged fields) point
//     into the request's frame, which the server reuses once the response
//     is written: copy anything that must outlive the request. Strings are
//     copies and may be kept.
//
// # Environment
//
// Handlers reach the rest of the broker only through Env, whose fields are
// small interfaces declared here by their user (the handlers). The broker
// builds one Env and hands it to the server.
package api
