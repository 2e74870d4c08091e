package console

import (
	"strings"
	"testing"
)

func TestParseConnectorJSON(t *testing.T) {
	cases := []struct {
		name, in, wantName string
		want               map[string]string
		wantErr            string
	}{
		{name: "create request", in: `{"name":"a","config":{"connector.class":"FileStreamSource","tasks.max":2,"x":true}}`,
			wantName: "a", want: map[string]string{"connector.class": "FileStreamSource", "tasks.max": "2", "x": "true"}},
		{name: "bare config", in: `{"name":"b","connector.class":"FileStreamSink"}`,
			wantName: "b", want: map[string]string{"name": "b", "connector.class": "FileStreamSink"}},
		{name: "name in config", in: `{"config":{"name":"c","topic":"t"}}`, wantName: "c", want: map[string]string{"name": "c", "topic": "t"}},
		{name: "big number kept", in: `{"name":"d","config":{"n":12345678901234567890}}`, wantName: "d", want: map[string]string{"n": "12345678901234567890"}},
		{name: "not json", in: `name=a`, wantErr: "not a JSON object"},
		{name: "array", in: `[1]`, wantErr: "not a JSON object"},
		{name: "two values", in: `{"name":"a"} {}`, wantErr: "more than one"},
		{name: "no name", in: `{"config":{"topic":"t"}}`, wantErr: `"name"`},
		{name: "config not object", in: `{"name":"a","config":"x"}`, wantErr: "must be an object"},
		{name: "nested", in: `{"name":"a","config":{"x":{"y":1}}}`, wantErr: "string, number or boolean"},
		{name: "null", in: `{"name":"a","config":{"x":null}}`, wantErr: "null"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name, cfg, err := parseConnectorJSON(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if name != tc.wantName || len(cfg) != len(tc.want) {
				t.Fatalf("got %q %v, want %q %v", name, cfg, tc.wantName, tc.want)
			}
			for k, v := range tc.want {
				if cfg[k] != v {
					t.Fatalf("%s = %q, want %q", k, cfg[k], v)
				}
			}
		})
	}
}

func FuzzParseConnectorJSON(f *testing.F) {
	f.Add(`{"name":"a","config":{"connector.class":"FileStreamSource","tasks.max":1}}`)
	f.Add(`{"name":"b","topic":"t"}`)
	f.Fuzz(func(t *testing.T, in string) {
		name, cfg, err := parseConnectorJSON(in)
		if err != nil {
			return
		}
		if strings.TrimSpace(name) == "" || cfg == nil {
			t.Fatalf("accepted %q without a name or config", in)
		}
	})
}
