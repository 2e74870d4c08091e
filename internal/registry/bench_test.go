package registry

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/sluicehq/sluice/internal/registry/avro"
	"github.com/sluicehq/sluice/internal/registry/format"
)

func benchService(b *testing.B) *Service {
	log := NewMemLog()
	state := NewState()
	mem := log.Join(state)
	log.SetWriter(mem)
	return New(Options{Log: mem, State: state, Formats: map[format.SchemaType]format.Format{format.Avro: avro.New()}})
}

func avroRecord(i int) string {
	return fmt.Sprintf(`{"type":"record","name":"R%d","namespace":"bench","fields":[{"name":"id","type":"long"},{"name":"name","type":"string","default":""}]}`, i)
}

func serve(b *testing.B, h http.Handler, method, path, body string) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		b.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body.String())
	}
}

// BenchmarkSubjectsForID is the Produce path's question for a known id.
func BenchmarkSubjectsForID(b *testing.B) {
	s := benchService(b)
	h := s.Handler()
	for i := range 1000 {
		serve(b, h, "POST", fmt.Sprintf("/subjects/s%d-value/versions", i), `{"schema":`+jsonString(avroRecord(i))+`}`)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if subjects, _ := s.SubjectsForID(ctx, 1+i%1000); len(subjects) != 1 {
			b.Fatal(subjects)
		}
	}
}

// BenchmarkGetSchemaByID is GET /schemas/ids/{id} through the handler (what a consumer's
// deserializer asks once per id), 1,000 schemas registered; franz-go's in-memory fake registry
// (srfake) answers the same requests in the same run as the reference.
func BenchmarkGetSchemaByID(b *testing.B) {
	paths := make([]string, 1000)
	for i := range paths {
		paths[i] = fmt.Sprintf("/schemas/ids/%d", i+1)
	}
	b.Run("sluice", func(b *testing.B) {
		s := benchService(b)
		h := s.Handler()
		for i := range 1000 {
			serve(b, h, "POST", fmt.Sprintf("/subjects/s%d-value/versions", i), `{"schema":`+jsonString(avroRecord(i))+`}`)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			serve(b, h, "GET", paths[i%1000], "")
		}
	})
	b.Run("srfake", func(b *testing.B) {
		fake := srfake.New()
		defer fake.Close()
		for i := range 1000 {
			fake.SeedSchema(fmt.Sprintf("s%d-value", i), 1, i+1, sr.Schema{Schema: avroRecord(i)})
		}
		h := fake.Handler()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			serve(b, h, "GET", paths[i%1000], "")
		}
	})
}

// BenchmarkRegister registers a new Avro schema as a new version of one subject under BACKWARD
// (parse, canonicalize, check against the latest version, append), through the handler.
func BenchmarkRegister(b *testing.B) {
	s := benchService(b)
	h := s.Handler()
	bodies := make([]string, b.N)
	for i := range bodies {
		fields := []string{`{"name":"id","type":"long"}`}
		fields = append(fields, fmt.Sprintf(`{"name":"f%d","type":"string","default":""}`, i))
		bodies[i] = `{"schema":` + jsonString(`{"type":"record","name":"R","fields":[`+strings.Join(fields, ",")+`]}`) + `}`
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		serve(b, h, "POST", "/subjects/bench-value/versions", bodies[i])
	}
}

// BenchmarkRegisterNewSubjects registers a new Avro schema in a new subject each time.
func BenchmarkRegisterNewSubjects(b *testing.B) {
	s := benchService(b)
	h := s.Handler()
	bodies := make([]string, b.N)
	for i := range bodies {
		bodies[i] = `{"schema":` + jsonString(avroRecord(i)) + `}`
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		serve(b, h, "POST", fmt.Sprintf("/subjects/s%d-value/versions", i), bodies[i])
	}
}
