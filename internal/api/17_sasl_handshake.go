package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SaslHandshake: v0–1
//
// Behavior:
//   - On a SASL listener the server's authentication gate (internal/server/sasl.go) answers
//     SaslHandshake before authentication and when it starts a re-authentication (KIP-368);
//     this handler sees only the others, as Kafka's KafkaApis does: on a listener without
//     SASL, or a handshake after authentication that is not a re-authentication, it answers
//     ILLEGAL_SASL_STATE.
//
// Version notes:
//   - v1: the client authenticates with SaslAuthenticate requests instead of raw tokens.

func init() {
	Register(API{Key: 17, MinVersion: 0, MaxVersion: 1, Handle: handleSaslHandshake, Listeners: BrokerAndController})
}

func handleSaslHandshake(_ context.Context, _ *Env, req *Request) (Response, error) {
	resp := req.Msg.(*kmsg.SASLHandshakeRequest).ResponseKind().(*kmsg.SASLHandshakeResponse)
	resp.ErrorCode = kerr.IllegalSaslState.Code
	return Reply(resp), nil
}
