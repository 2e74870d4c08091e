package streams

import (
	"bytes"
	"testing"
)

func bytesDe(_ string, b []byte) (any, error) { return bytes.Clone(b), nil }

func bytesSer(_ string, v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	return v.([]byte), nil
}

// FuzzDecodeChange: the change records of table repartition topics come from the network;
// decoding must not panic, and what decodes re-encodes to the same bytes.
func FuzzDecodeChange(f *testing.F) {
	for _, c := range []change{{new: []byte("n")}, {old: []byte("o")}, {new: []byte{}, old: []byte("old")}} {
		b, _ := encodeChange("t", bytesSer, c)
		f.Add(b)
	}
	f.Add([]byte{3, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeChange("t", bytesDe, b)
		if err != nil {
			return
		}
		again, err := encodeChange("t", bytesSer, c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("%x decodes to %+v, which encodes to %x", b, c, again)
		}
	})
}

// FuzzForeignKeyWire: subscription and response records of foreign-key joins come from the
// network; decoding must not panic, and what decodes re-encodes to the same bytes.
func FuzzForeignKeyWire(f *testing.F) {
	s, _ := encodeSubscription("", subscription{instr: fkPropagateNullIfNoValue, hash: hashOf([]byte("v")), leftKey: []byte("k")})
	f.Add(s)
	r, _ := encodeResponse("", fkResponse{hash: hashOf([]byte("v")), right: []byte("r")})
	f.Add(r)
	r, _ = encodeResponse("", fkResponse{})
	f.Add(r)
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, err := decodeSubscription("", b); err == nil {
			again, err := encodeSubscription("", v)
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("subscription %x -> %+v -> %x, %v", b, v, again, err)
			}
		}
		if v, err := decodeResponse("", b); err == nil {
			again, err := encodeResponse("", v)
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("response %x -> %+v -> %x, %v", b, v, again, err)
			}
		}
	})
}

// FuzzOuterJoinList: the value lists of the outer join store are read back from disk and
// from the changelog; parsing must not panic and must account for every byte.
func FuzzOuterJoinList(f *testing.F) {
	f.Add([]byte{1, 'a', 0, 2, 'b', 'c'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		total := 0
		err := eachListed(b, func(v []byte) error {
			total += 1 + len(v) // at least one byte of length each
			return nil
		})
		if err == nil && total > len(b) {
			t.Fatalf("%x parsed into %d bytes of values and lengths", b, total)
		}
	})
}

// FuzzHeldEntry: an UntilTimeLimit buffer's entries are read back from its store and restored
// from its changelog; parsing must not panic, and what parses re-encodes to the same bytes.
func FuzzHeldEntry(f *testing.F) {
	k, v := appendHeldEntry(nil, nil, heldEntry{first: 1000, ts: 1050, key: []byte("key"), present: true, value: []byte("v")})
	f.Add(k, v)
	k, v = appendHeldEntry(nil, nil, heldEntry{first: -5, ts: 7, key: []byte("k")})
	f.Add(k, v)
	f.Fuzz(func(t *testing.T, k, v []byte) {
		e, err := parseHeldEntry(k, v)
		if err != nil {
			return
		}
		k2, v2 := appendHeldEntry(nil, nil, e)
		if !bytes.Equal(k2, k) || !bytes.Equal(v2, v) {
			t.Fatalf("%x/%x parses to %+v, which encodes to %x/%x", k, v, e, k2, v2)
		}
	})
}
