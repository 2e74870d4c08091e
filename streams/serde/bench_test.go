package serde

import "testing"

func BenchmarkInt64(b *testing.B) {
	s := Int64()
	data, _ := s.Serialize("t", 42)
	b.ReportAllocs()
	for b.Loop() {
		v, _ := s.Deserialize("t", data)
		if v != 42 {
			b.Fatal(v)
		}
	}
}

func BenchmarkTimeWindowedString(b *testing.B) {
	s := TimeWindowed(String(), 60_000)
	data, _ := s.Serialize("t", Windowed[string]{Key: "customer-1", Start: 1_700_000_000_000})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Serialize("t", Windowed[string]{Key: "customer-1", Start: 1_700_000_000_000}); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Deserialize("t", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAvro: a registry serde once its caches are warm (the registry is not asked again).
func BenchmarkAvro(b *testing.B) {
	_, cl := fakeRegistry(b)
	s, _ := Avro[readingV1T](cl, readingV1)
	in := readingV1T{"s1", 21.5}
	data, err := s.Serialize("readings", in)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Deserialize("readings", data); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Serialize("readings", in); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Deserialize("readings", data); err != nil {
			b.Fatal(err)
		}
	}
}
