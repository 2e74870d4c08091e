// Package tlsconf builds the TLS configurations of Kafka listeners and of inter-broker
// connections from Kafka's ssl.* broker configs, and maps client certificates to principals.
//
// Settings are read broker-wide or per listener (listener.name.<lower-case name>.ssl.*, which
// wins); FromConfig resolves them. Keystores and truststores are PEM (files or inline, KIP-651)
// or PKCS#12 (software.sslmate.com/src/go-pkcs12); JKS is refused with a message saying how
// to convert it. Key and trust material is re-read when its files change: every handshake
// stats the files (cheap), and when one's modification time or size changed, or was stamped
// less than two seconds before it was last read (a rewrite within the file system's timestamp
// granularity keeps size and time), the files are read again and, if their contents changed,
// parsed; a file that does not parse keeps the
// previous material and is logged once per change. The next handshake uses the new material;
// connections already open keep theirs.
//
// A verified client certificate's subject, as Java prints it in RFC 2253 form
// ("CN=alice,OU=eng,O=acme"), is mapped by ssl.principal.mapping.rules (KIP-371) to the name
// of the principal "User:<name>"; without a certificate the principal is User:ANONYMOUS.
//
// Example:
//
//	s := tlsconf.FromConfig(brokerCfg, static, "SSL")
//	srv, err := tlsconf.NewServer(s, tlsconf.Options{Listener: "SSL", Logger: logger, Metrics: metrics})
//	...
//	tc := tls.Server(nc, srv.Config()) // on the connection's goroutine: tc.HandshakeContext(ctx)
//	principal, err := srv.Principal(tc.ConnectionState())
//
// The inter-broker side: tlsconf.NewClient(s, opts) and, per dial, client.Config("host:port").
package tlsconf
