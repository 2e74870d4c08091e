package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SaslAuthenticate: v0–2
//
// Behavior:
//   - On a SASL listener the server's authentication gate (internal/server/sasl.go) answers
//     SaslAuthenticate during an authentication or re-authentication; this handler sees only
//     the others, as Kafka's KafkaApis does, and answers ILLEGAL_SASL_STATE ("SaslAuthenticate
//     request received after successful authentication").
//
// Version notes:
//   - v1: session_lifetime_ms (KIP-368 re-authentication).
//   - v2: flexible.

func init() {
	Register(API{Key: 36, MinVersion: 0, MaxVersion: 2, Handle: handleSaslAuthenticate, Listeners: BrokerAndController})
}

func handleSaslAuthenticate(_ context.Context, _ *Env, req *Request) (Response, error) {
	resp := req.Msg.(*kmsg.SASLAuthenticateRequest).ResponseKind().(*kmsg.SASLAuthenticateResponse)
	resp.ErrorCode = kerr.IllegalSaslState.Code
	msg := "SaslAuthenticate request received after successful authentication"
	resp.ErrorMessage = &msg
	return Reply(resp), nil
}
