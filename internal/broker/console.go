package broker

import (
	"net/http"
	"slices"
	"sync/atomic"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/console"
)

// consoleSlot is the HTTP listener's handler for the web console: the listener starts before
// the Kafka listeners the console connects to, so the console arrives later (startConsole);
// until then its pages answer 503.
type consoleSlot struct {
	c atomic.Pointer[console.Console]
}

func (s *consoleSlot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := s.c.Load()
	if c == nil {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "the console starts when the broker's Kafka listeners are up", http.StatusServiceUnavailable)
		return
	}
	c.ServeHTTP(w, r)
}

// startConsole makes the web console (internal/console) on the HTTP listener: a client of
// this node's first SASL_PLAINTEXT Kafka listener (users sign in with the cluster's users), or
// else its first PLAINTEXT one (anonymous; not when HTTP authentication is on), of this node's
// schema registry and, with --connect, of its Connect worker. A node whose Kafka listeners all
// use TLS has no console.
func (b *Broker) startConsole(brokerCfg *config.Resolved) error {
	if b.consoleSlot == nil {
		return nil
	}
	// A SASL_PLAINTEXT listener first, so that users sign in when the node has one.
	var addr, listener string
	signIn := false
	for _, sasl := range []bool{true, false} {
		for _, kl := range b.listeners {
			if addr == "" && !kl.cfg.Protocol.TLS() && kl.cfg.Protocol.SASL() == sasl {
				addr, listener = kl.ln.Addr().String(), kl.cfg.Name
				signIn = sasl
			}
		}
	}
	if addr == "" {
		b.logger.Warn("the web console needs a PLAINTEXT or SASL_PLAINTEXT Kafka listener on this node; it is off")
		return nil
	}
	if !signIn && len(brokerCfg.List(config.SluiceHTTPAuthenticationMethods)) > 0 {
		// Signed-in users must act as themselves; an anonymous client would not.
		b.logger.Warn("the HTTP listener asks for authentication but this node has no SASL_PLAINTEXT Kafka listener for the console to act as the signed-in user; the console is off")
		return nil
	}
	// The listener's mechanisms the sign-in form can offer; OAUTHBEARER (a token for a
	// password) where the listener validates tokens.
	var mechs []string
	enabled := splitList(listenerValue(b.static, brokerCfg, listener, config.SaslEnabledMechanisms))
	for _, m := range []string{"SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN", "OAUTHBEARER"} {
		if m == "OAUTHBEARER" && listenerValue(b.static, brokerCfg, listener, config.SaslOauthbearerJwksEndpointURL) == "" {
			continue
		}
		if slices.Contains(enabled, m) {
			mechs = append(mechs, m)
		}
	}
	if signIn && len(mechs) == 0 {
		b.logger.Warn("the web console's listener enables no SASL mechanism it can sign users in with (SCRAM-SHA-256, SCRAM-SHA-512, PLAIN, OAUTHBEARER); the console is off", "listener", listener)
		return nil
	}
	opts := console.Options{
		Brokers:    func() []string { return []string{addr} },
		SignIn:     signIn,
		Mechanisms: mechs,
		ConnectURL: b.cfg.ConsoleConnectURL,
		Gatherer:   b.registry,
		Logger:     b.logger.With("component", "console"),
	}
	if a := b.SchemaRegistryAddr(); a != "" {
		scheme := "http"
		if _, tlsCfg, _ := b.httpSecurity(brokerCfg); tlsCfg != nil {
			scheme = "https"
		}
		opts.RegistryURL = scheme + "://" + a
	}
	c, err := console.New(opts)
	if err != nil {
		return err
	}
	b.consoleSlot.c.Store(c)
	return nil
}

// closeConsole ends the console's sessions.
func (b *Broker) closeConsole() {
	if b.consoleSlot == nil {
		return
	}
	if c := b.consoleSlot.c.Swap(nil); c != nil {
		c.Close()
	}
}
