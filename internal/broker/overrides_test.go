package broker

import (
	"maps"
	"testing"
)

func TestConnectionOverrides(t *testing.T) {
	cases := []struct {
		name    string
		value   string
		want    map[string]int
		wantErr bool
	}{
		{"empty", "", map[string]int{}, false},
		{"literals", "127.0.0.2:5, ::1:7", map[string]int{"127.0.0.2": 5, "::1": 7}, false},
		{"literal wins over a name", "localhost:2,127.0.0.1:9", nil, false},
		{"no count", "127.0.0.1", nil, true},
		{"negative count", "127.0.0.1:-1", nil, true},
		{"unresolvable name", "no-such-host.invalid:3", nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := connectionOverrides(tc.value)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if tc.want != nil && !maps.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if tc.name == "literal wins over a name" && got["127.0.0.1"] != 9 {
				t.Fatalf("127.0.0.1 → %d, want the literal's 9 (%v)", got["127.0.0.1"], got)
			}
		})
	}
}
