// Package sasl implements the server side of Kafka's SASL mechanisms: PLAIN (RFC 4616),
// SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) and OAUTHBEARER (RFC 7628, KIP-255/768)
// with JWTs verified against a JWKS file or URL.
//
// An Authenticator holds the enabled mechanisms and where their credentials come from; Start
// begins one exchange, a Session, which the server feeds with the client's messages
// (SaslAuthenticate's auth_bytes, or the raw tokens after a SaslHandshake v0) until it is done
// or fails:
//
//	a, _ := sasl.New(sasl.Config{Mechanisms: []string{sasl.Plain}, PlainUsers: users})
//	s, ok := a.Start("PLAIN")
//	reply, done, err := s.Step(clientBytes)
//	// err: authentication failed; done: s.Principal() is the user name
//
// Failures follow Kafka's SaslServer implementations: an *AuthError carries a message Kafka sends
// to the client as is (SaslAuthenticationException, "Authentication failed: Invalid username or
// password"); any other error is answered with Kafka's generic message (GenericFailureMessage),
// which says nothing about whether the user exists.
//
// Every parser here reads bytes from unauthenticated clients: none panics, none allocates more
// than a constant factor of its input (the server bounds the input, sasl.server.max.receive.size).
// Sessions are used by one goroutine (the connection's read loop); an Authenticator and a
// TokenValidator are safe for concurrent use.
package sasl
