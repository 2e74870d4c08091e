package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	kgosasl "github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// SASLCredentials authenticate this node's connections to other brokers' inter-broker
// listener when it is SASL_PLAINTEXT or SASL_SSL (sasl.mechanism.inter.broker.protocol, and the
// username and password options of that listener's sasl.jaas.config).
type SASLCredentials struct {
	Mechanism string // PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
	User      string
	Password  string
}

// ErrSASL wraps a failed authentication to another broker.
var ErrSASL = errors.New("cluster: SASL authentication failed")

// mechanism returns franz-go's client side of creds' mechanism.
func (creds *SASLCredentials) mechanism() (kgosasl.Mechanism, error) {
	switch creds.Mechanism {
	case "PLAIN":
		return plain.Auth{User: creds.User, Pass: creds.Password}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: creds.User, Pass: creds.Password}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: creds.User, Pass: creds.Password}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("%w: mechanism %q is not supported for inter-broker connections", ErrSASL, creds.Mechanism)
}

// authenticate runs SaslHandshake v1 and SaslAuthenticate v1 on a fresh connection and
// returns the session's lifetime (0: it does not expire).
func (cn *conn) authenticate(ctx context.Context, addr string, creds *SASLCredentials) (time.Duration, error) {
	mech, err := creds.mechanism()
	if err != nil {
		return 0, err
	}
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, creds.Mechanism
	resp, err := cn.exchange(ctx, hs)
	if err != nil {
		return 0, fmt.Errorf("%w: handshake with %s: %w", ErrSASL, addr, err)
	}
	if err := kerr.ErrorForCode(resp.(*kmsg.SASLHandshakeResponse).ErrorCode); err != nil {
		return 0, fmt.Errorf("%w: handshake with %s (%s): %w", ErrSASL, addr, creds.Mechanism, err)
	}
	session, msg, err := mech.Authenticate(ctx, addr)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrSASL, err)
	}
	for range 4 {
		au := kmsg.NewPtrSASLAuthenticateRequest()
		au.Version, au.SASLAuthBytes = 1, msg
		resp, err := cn.exchange(ctx, au)
		if err != nil {
			return 0, fmt.Errorf("%w: with %s: %w", ErrSASL, addr, err)
		}
		r := resp.(*kmsg.SASLAuthenticateResponse)
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			text := ""
			if r.ErrorMessage != nil {
				text = *r.ErrorMessage
			}
			return 0, fmt.Errorf("%w: with %s as %s: %w: %s", ErrSASL, addr, creds.User, err, text)
		}
		done, next, err := session.Challenge(r.SASLAuthBytes)
		if err != nil {
			return 0, fmt.Errorf("%w: with %s: %w", ErrSASL, addr, err)
		}
		if done {
			return time.Duration(r.SessionLifetimeMillis) * time.Millisecond, nil
		}
		msg = next
	}
	return 0, fmt.Errorf("%w: with %s: exchange did not finish", ErrSASL, addr)
}

// reauthMargin: an idle connection is retired once this share of its SASL session has passed,
// before the broker would close it (KIP-368), rather than re-authenticating it in place.
const reauthMargin = 0.85
