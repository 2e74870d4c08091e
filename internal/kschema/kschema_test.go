package kschema

import (
	"errors"
	"testing"
)

var errBad = errors.New("bad record")

func TestRoundTrip(t *testing.T) {
	var b []byte
	b = AppendString(b, "group")
	b = AppendNullableString(b, "")
	b = AppendCompactString(b, "topic")
	b = AppendCompactNullable(b, "")
	b = AppendBytes(b, []byte{1, 2, 3})
	b = append(b, 1) // one tagged field
	b = AppendTag(b, 7, []byte("x"))
	r := Reader{B: b, Bad: errBad}
	var tags []uint64
	got := []string{r.String(), r.NullableString(), r.CompactString(), r.CompactNullableString(), string(r.Bytes())}
	r.Tags(func(tag uint64, data []byte) { tags = append(tags, tag) })
	if err := r.DoneExact("all"); err != nil {
		t.Fatal(err)
	}
	want := []string{"group", "", "topic", "", "\x01\x02\x03"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("field %d = %q, want %q", i, got[i], want[i])
		}
	}
	if len(tags) != 1 || tags[0] != 7 {
		t.Fatalf("tags %v", tags)
	}
}

func TestBadBytes(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		read func(r *Reader)
	}{
		{"truncated int64", []byte{1, 2, 3}, func(r *Reader) { r.Int64() }},
		{"string longer than bytes", []byte{0, 9, 'a'}, func(r *Reader) { _ = r.String() }},
		{"null non-null string", []byte{0xff, 0xff}, func(r *Reader) { _ = r.String() }},
		{"null compact string", []byte{0}, func(r *Reader) { r.CompactString() }},
		{"array longer than bytes", []byte{0, 0, 0x7f, 0xff}, func(r *Reader) { r.ArrayLen(false) }},
		{"compact array longer than bytes", []byte{0x7f}, func(r *Reader) { r.ArrayLen(true) }},
		{"bad varint", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, func(r *Reader) { r.Uvarint() }},
		{"tagged field longer than bytes", []byte{1, 0, 9}, func(r *Reader) { r.SkipTags() }},
		{"more tagged fields than bytes", []byte{9}, func(r *Reader) { r.SkipTags() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Reader{B: tc.b, Bad: errBad}
			tc.read(&r)
			if err := r.Done(tc.name); !errors.Is(err, errBad) {
				t.Fatalf("Done = %v, want an error wrapping the Bad sentinel", err)
			}
		})
	}
	r := Reader{B: []byte{0, 1, 2}, Bad: errBad}
	r.Int16()
	if err := r.Done("short"); err != nil {
		t.Fatalf("Done with a byte left = %v, want nil", err)
	}
	if err := r.DoneExact("short"); !errors.Is(err, errBad) {
		t.Fatalf("DoneExact with a byte left = %v, want the Bad sentinel", err)
	}
}
