package sasl

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Mechanism names, as clients send them in SaslHandshake.
const (
	Plain       = "PLAIN"
	ScramSHA256 = "SCRAM-SHA-256"
	ScramSHA512 = "SCRAM-SHA-512"
	OAuthBearer = "OAUTHBEARER"
	GSSAPI      = "GSSAPI"
)

// DefaultMechanisms is Sluice's sasl.enabled.mechanisms default: Kafka's is GSSAPI, which
// Sluice does not implement, so a SASL listener enables every mechanism it does implement
// whose credentials are configured (New drops the others from this default).
var DefaultMechanisms = []string{Plain, ScramSHA256, ScramSHA512, OAuthBearer}

// Session is one server-side authentication exchange. It is used by one goroutine.
type Session interface {
	// Step evaluates the client's next message and returns the server's reply (possibly
	// empty). done is true once the client is authenticated; while it is false and err is
	// nil, another client message is expected. A non-nil error ends the exchange: the
	// client failed to authenticate.
	Step(msg []byte) (reply []byte, done bool, err error)
	// Principal is the authenticated user's name (without "User:"), once done.
	Principal() string
	// Expiry is when the authenticated credential expires (an OAUTHBEARER token's exp), or
	// the zero time when it does not: Kafka ends the session there (KIP-368).
	Expiry() time.Time
}

// AuthError is a failure whose message is sent to the client as is (Kafka's
// SaslAuthenticationException). Other errors from Step are answered with
// GenericFailureMessage, so that a client learns nothing about which users exist.
type AuthError struct {
	Message string
}

func (e *AuthError) Error() string { return e.Message }

// ErrFailed wraps every failure that is not an *AuthError; its text is for the broker's log.
var ErrFailed = errors.New("sasl: authentication failed")

func failed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFailed, fmt.Sprintf(format, args...))
}

// GenericFailureMessage is Kafka's answer to a failure that is not an *AuthError;
// reauthenticating selects "re-authentication" for "authentication".
func GenericFailureMessage(mechanism string, reauthenticating bool) string {
	what := "authentication"
	if reauthenticating {
		what = "re-authentication"
	}
	return "Authentication failed during " + what + " due to invalid credentials with SASL mechanism " + mechanism
}

// ClientMessage returns the message a client is sent for err from Step.
func ClientMessage(err error, mechanism string, reauthenticating bool) string {
	var ae *AuthError
	if errors.As(err, &ae) {
		return ae.Message
	}
	return GenericFailureMessage(mechanism, reauthenticating)
}

// Config says which mechanisms are enabled and where their credentials come from.
type Config struct {
	// Mechanisms is sasl.enabled.mechanisms (nil: DefaultMechanisms, less those without
	// credentials configured). Naming a mechanism whose source below is missing is an error.
	Mechanisms []string
	// PlainUsers are the PLAIN users and their passwords (the JAAS user_<name>="<password>"
	// options, or sluice.sasl.plain.users.file).
	PlainUsers map[string]string
	// ScramCredentials looks up a SCRAM user's stored credential.
	ScramCredentials ScramLookup
	// OAuth validates OAUTHBEARER tokens.
	OAuth *TokenValidator
}

// Authenticator starts sessions for the enabled mechanisms. It is safe for concurrent use.
type Authenticator struct {
	mechanisms []string
	cfg        Config
}

// New checks cfg and returns its Authenticator.
func New(cfg Config) (*Authenticator, error) {
	mechs := cfg.Mechanisms
	explicit := mechs != nil
	if !explicit {
		mechs = DefaultMechanisms
	}
	var enabled []string
	for _, m := range mechs {
		m = strings.TrimSpace(m)
		var have bool
		switch m {
		case Plain:
			have = cfg.PlainUsers != nil
		case ScramSHA256, ScramSHA512:
			have = cfg.ScramCredentials != nil
		case OAuthBearer:
			have = cfg.OAuth != nil
		case GSSAPI:
			return nil, fmt.Errorf("sasl: mechanism GSSAPI (Kerberos) is not supported; set sasl.enabled.mechanisms")
		default:
			return nil, fmt.Errorf("sasl: unknown mechanism %q (supported: %s)", m, strings.Join(DefaultMechanisms, ","))
		}
		if !have {
			if explicit {
				return nil, fmt.Errorf("sasl: mechanism %s is enabled but has no credentials configured", m)
			}
			continue
		}
		if !slices.Contains(enabled, m) {
			enabled = append(enabled, m)
		}
	}
	if len(enabled) == 0 {
		return nil, errors.New("sasl: no mechanism enabled (configure PLAIN users, SCRAM credentials or an OAUTHBEARER JWKS)")
	}
	return &Authenticator{mechanisms: enabled, cfg: cfg}, nil
}

// Mechanisms returns the enabled mechanisms, in configuration order. The caller must not
// modify it.
func (a *Authenticator) Mechanisms() []string { return a.mechanisms }

// Enabled reports whether mechanism is enabled.
func (a *Authenticator) Enabled(mechanism string) bool {
	return slices.Contains(a.mechanisms, mechanism)
}

// Start begins an exchange for mechanism; false if it is not enabled.
func (a *Authenticator) Start(mechanism string) (Session, bool) {
	if !a.Enabled(mechanism) {
		return nil, false
	}
	switch mechanism {
	case Plain:
		return &plainSession{users: a.cfg.PlainUsers}, true
	case ScramSHA256:
		return newScramSession(sha256Scram, a.cfg.ScramCredentials), true
	case ScramSHA512:
		return newScramSession(sha512Scram, a.cfg.ScramCredentials), true
	case OAuthBearer:
		return &oauthSession{v: a.cfg.OAuth}, true
	}
	return nil, false
}
