package api

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/record"
)

type fixedSubjects map[int][]string

func (f fixedSubjects) SubjectsForID(_ context.Context, id int) ([]string, error) {
	return f[id], nil
}

func wireValue(id uint32) []byte {
	b := []byte{0, 0, 0, 0, 0, 'p', 'a', 'y', 'l', 'o', 'a', 'd'}
	binary.BigEndian.PutUint32(b[1:], id)
	return b
}

func schemaBatch(t testing.TB, codec record.Codec, n int, id uint32) []byte {
	t.Helper()
	bld := record.NewBuilder(codec)
	for i := range n {
		bld.Add(int64(i), nil, wireValue(id))
	}
	b, err := bld.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var valueValidation = partition.SchemaIDValidation{Value: true, ValueStrategy: config.TopicNameStrategy}

// The check allocates per partition, never per record: a batch of a thousand records costs
// what a batch of one does.
func TestSchemaIDCheckAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers")
	}
	v := NewSchemaIDValidator(fixedSubjects{7: {"t-value"}})
	for _, codec := range []record.Codec{record.None, record.Zstd} {
		one, many := schemaBatch(t, codec, 1, 7), schemaBatch(t, codec, 1000, 7)
		allocs := func(records []byte) float64 {
			return testing.AllocsPerRun(50, func() {
				if err := checkSchemaIDs(context.Background(), v, "t", 0, valueValidation, records, nil); err != nil {
					t.Fatal(err)
				}
			})
		}
		if a1, a1000 := allocs(one), allocs(many); a1000 > a1 {
			t.Errorf("codec %v: %v allocations for 1,000 records, %v for one", codec, a1000, a1)
		}
	}
}

// FuzzCheckSchemaIDs: whatever a producer sends, the check answers without panicking, and a
// verdict against records is a *partition.RecordErrors naming records of the batch.
func FuzzCheckSchemaIDs(f *testing.F) {
	f.Add(schemaBatch(f, record.None, 3, 7))
	f.Add(schemaBatch(f, record.Zstd, 3, 8))
	f.Add(schemaBatch(f, record.Gzip, 2, 7))
	f.Add([]byte{0, 1, 2})
	v := NewSchemaIDValidator(fixedSubjects{7: {"t-value"}, 9: {"t-key"}})
	both := partition.SchemaIDValidation{Key: true, Value: true, KeyStrategy: config.TopicRecordNameStrategy, ValueStrategy: config.TopicNameStrategy}
	f.Fuzz(func(t *testing.T, records []byte) {
		budget := partition.NewDecompressBudget(len(records))
		_ = checkSchemaIDs(context.Background(), v, "t", 0, both, records, budget)
	})
}

// BenchmarkSchemaIDCheck is the cost of validating a batch of 100 records with one known id.
func BenchmarkSchemaIDCheck(b *testing.B) {
	v := NewSchemaIDValidator(fixedSubjects{7: {"t-value"}})
	for _, codec := range []record.Codec{record.None, record.LZ4} {
		records := schemaBatch(b, codec, 100, 7)
		b.Run(codec.String(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(records)))
			for b.Loop() {
				if err := checkSchemaIDs(context.Background(), v, "t", 0, valueValidation, records, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
