package api_test

import (
	"bufio"
	"encoding/binary"
	"net"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
)

// TestEveryVersionAnswersADefaultRequest sends every broker-listener API at every version it
// serves (the legacy versions among them) with Kafka's default field values, each on its own
// connection, and requires an answer with the request's correlation id that decodes at that
// version: no version's handling may fail or close the connection on a request it accepts.
func TestEveryVersionAnswersADefaultRequest(t *testing.T) {
	b := startBroker(t)
	b.createTopic("t", 1, nil)
	for _, a := range api.APIsFor(api.BrokerListener) {
		for v := a.MinVersion; v <= a.MaxVersion; v++ {
			req := kmsg.RequestForKey(a.Key)
			req.SetVersion(v)
			if p, ok := req.(*kmsg.ProduceRequest); ok {
				p.Acks = 1 // acks=0 is answered by nothing
			}
			nc, err := net.Dial("tcp", b.addr)
			if err != nil {
				t.Fatal(err)
			}
			c := &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
			c.corr = 7
			if _, err := nc.Write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("every")).AppendRequest(nil, req, c.corr)); err != nil {
				t.Fatal(err)
			}
			frame, err := c.readFrame()
			nc.Close()
			if err != nil {
				t.Errorf("%s v%d: no answer: %v", a.Name(), v, err)
				continue
			}
			if corr := int32(binary.BigEndian.Uint32(frame)); corr != c.corr {
				t.Errorf("%s v%d: correlation id %d", a.Name(), v, corr)
				continue
			}
			resp := req.ResponseKind()
			resp.SetVersion(v)
			body := frame[4:]
			if resp.IsFlexible() && a.Key != 18 {
				body = body[1:]
			}
			if err := resp.ReadFrom(body); err != nil {
				t.Errorf("%s v%d: answer does not decode: %v", a.Name(), v, err)
			}
		}
	}
}
