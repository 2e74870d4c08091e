package api_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
)

// kafka4Min is the lowest version Kafka 4.2 serves of each key whose minimum KIP-896 raised
// (apache/kafka's message JSON "validVersions"; every other key starts where Kafka 3.9's did).
// Produce is missing on purpose: Kafka 4 still advertises it from v0 (KAFKA-18659).
var kafka4Min = map[int16]int16{
	1:  4, // Fetch
	2:  1, // ListOffsets
	8:  2, // OffsetCommit
	9:  1, // OffsetFetch
	19: 2, // CreateTopics
	20: 1, // DeleteTopics
	23: 2, // OffsetForLeaderEpoch
	27: 1, // WriteTxnMarkers
	29: 1, // DescribeAcls
	30: 1, // CreateAcls
	31: 1, // DeleteAcls
	32: 1, // DescribeConfigs
	35: 1, // DescribeLogDirs
	56: 2, // AlterPartition
	78: 1, // ShareFetch (v0 was Kafka 4.0's early access, removed in 4.1)
	79: 1, // ShareAcknowledge (likewise)
}

// kafka39 is the version range Kafka 3.9 served of each key its KRaft brokers and controllers
// served (apache/kafka 3.9.0's message JSON "validVersions"; the ZooKeeper-only keys 4–7 and
// the share-group keys 76–79 and 83–87, early access not served by 3.9, are left out).
var kafka39 = map[int16][2]int16{
	0: {0, 11}, 1: {0, 17}, 2: {0, 9}, 3: {0, 12}, 8: {0, 9}, 9: {0, 9}, 10: {0, 6}, 11: {0, 9},
	12: {0, 4}, 13: {0, 5}, 14: {0, 5}, 15: {0, 5}, 16: {0, 5}, 17: {0, 1}, 18: {0, 4},
	19: {0, 7}, 20: {0, 6}, 21: {0, 2}, 22: {0, 5}, 23: {0, 4}, 24: {0, 5}, 25: {0, 4},
	26: {0, 4}, 27: {0, 1}, 28: {0, 4}, 29: {0, 3}, 30: {0, 3}, 31: {0, 3}, 32: {0, 4},
	33: {0, 2}, 34: {0, 2}, 35: {0, 4}, 36: {0, 2}, 37: {0, 3}, 38: {0, 3}, 39: {0, 2},
	40: {0, 2}, 41: {0, 3}, 42: {0, 2}, 43: {0, 2}, 44: {0, 1}, 45: {0, 0}, 46: {0, 0},
	47: {0, 0}, 48: {0, 1}, 49: {0, 1}, 50: {0, 0}, 51: {0, 0}, 52: {0, 1}, 53: {0, 1},
	54: {0, 1}, 55: {0, 2}, 56: {0, 3}, 57: {0, 1}, 58: {0, 0}, 59: {0, 1}, 60: {0, 1},
	61: {0, 0}, 62: {0, 4}, 63: {0, 1}, 64: {0, 0}, 65: {0, 0}, 66: {0, 1}, 67: {0, 0},
	68: {0, 0}, 69: {0, 0}, 70: {0, 0}, 71: {0, 0}, 72: {0, 0}, 73: {0, 0}, 74: {0, 0},
	75: {0, 0}, 80: {0, 0}, 81: {0, 0}, 82: {0, 0},
}

// TestServedVersionsFollowKafka checks every registered API's version range against Kafka: with
// sluice.protocol.legacy.versions.enable on it covers Kafka 3.9's range (for keys 3.9 served),
// with it off it starts where Kafka 4's does.
func TestServedVersionsFollowKafka(t *testing.T) {
	var on, off api.VersionGate
	off.SetLegacy(false)
	for _, a := range api.APIs() {
		// Produce is advertised from v0 either way, as Kafka 4 does (KAFKA-18659); its handler
		// refuses v0–2 with the switch off.
		if got, want := off.Served(a).MinVersion, kafka4Min[a.Key]; got != want && a.Key != 0 {
			t.Errorf("%s: legacy versions off: served from v%d, Kafka 4 from v%d", a.Name(), got, want)
		}
		served := on.Served(a)
		switch r, ok := kafka39[a.Key]; {
		case ok && (served.MinVersion > r[0] || served.MaxVersion < r[1]):
			t.Errorf("%s: legacy versions on: served v%d–v%d, Kafka 3.9 served v%d–v%d", a.Name(), served.MinVersion, served.MaxVersion, r[0], r[1])
		case !ok && served.MinVersion != kafka4Min[a.Key]:
			t.Errorf("%s: not served by Kafka 3.9, yet served from v%d with legacy versions on (Kafka 4: v%d)", a.Name(), served.MinVersion, kafka4Min[a.Key])
		}
		if a.MaxVersion != on.Served(a).MaxVersion || a.MaxVersion != off.Served(a).MaxVersion {
			t.Errorf("%s: the switch changed the maximum version", a.Name())
		}
	}
	var nilGate *api.VersionGate
	if !nilGate.Legacy() {
		t.Fatal("a nil gate must serve the legacy versions (the config's default)")
	}
}

// TestLegacyVersionsSwitch serves a broker with the switch and flips it: off, ApiVersions
// advertises Kafka 4's minimums and a request at a removed version closes the connection, as
// Kafka 4 does; on again, the same request is answered.
func TestLegacyVersionsSwitch(t *testing.T) {
	b := startBroker(t)
	gate := &api.VersionGate{}
	env := *b.env
	env.Versions = gate
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, &env, ln, func() {})
	dial := func() *rawConn {
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
	}
	advertised := func(c *rawConn) map[int16][2]int16 {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = 3
		req.ClientSoftwareName, req.ClientSoftwareVersion = "legacy-test", "1"
		resp := c.send(req).(*kmsg.ApiVersionsResponse)
		out := map[int16][2]int16{}
		for _, k := range resp.ApiKeys {
			out[k.ApiKey] = [2]int16{k.MinVersion, k.MaxVersion}
		}
		return out
	}
	describeAclsV0 := func() kmsg.Request {
		req := kmsg.NewPtrDescribeACLsRequest()
		req.Version = 0
		req.ResourceType = kmsg.ACLResourceTypeAny
		req.Operation = kmsg.ACLOperationAny
		req.PermissionType = kmsg.ACLPermissionTypeAny
		return req
	}

	for _, legacy := range []bool{true, false, true} {
		gate.SetLegacy(legacy)
		c := dial()
		got := advertised(c)
		for _, a := range api.APIsFor(api.BrokerListener) {
			want := [2]int16{a.MinVersion, a.MaxVersion}
			if !legacy && a.LegacyBelow > a.MinVersion {
				want[0] = a.LegacyBelow
			}
			if got[a.Key] != want {
				t.Errorf("legacy %v: %s advertised %v, want %v", legacy, a.Name(), got[a.Key], want)
			}
		}
		// ApiVersions at a version nobody serves is still answered with UNSUPPORTED_VERSION.
		bad := kmsg.NewPtrApiVersionsRequest()
		bad.Version = 4
		c.corr++
		frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw")).AppendRequest(nil, bad, c.corr)
		frame[6], frame[7] = 0, 99 // request api version 99
		if _, err := c.nc.Write(frame); err != nil {
			t.Fatal(err)
		}
		resp, err := c.readFrame()
		if err != nil {
			t.Fatalf("legacy %v: ApiVersions v99: %v", legacy, err)
		}
		if code := int16(resp[4])<<8 | int16(resp[5]); code != kerr.UnsupportedVersion.Code {
			t.Fatalf("legacy %v: ApiVersions v99: error %d, want UNSUPPORTED_VERSION", legacy, code)
		}

		if legacy {
			resp := c.send(describeAclsV0()).(*kmsg.DescribeACLsResponse)
			if resp.ErrorCode != kerr.SecurityDisabled.Code { // no authorizer: Kafka's answer
				t.Fatalf("DescribeAcls v0: error %d, want SECURITY_DISABLED", resp.ErrorCode)
			}
			continue
		}
		c.corr++
		if _, err := c.nc.Write(kmsg.NewRequestFormatter().AppendRequest(nil, describeAclsV0(), c.corr)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.readFrame(); !errors.Is(err, io.EOF) {
			t.Fatalf("DescribeAcls v0 with legacy versions off: %v, want the connection closed", err)
		}
	}
}
