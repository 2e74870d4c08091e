package server

import "testing"

// Frames up to socket.request.max.bytes' default (100 MiB) are recycled: a producer spreading
// records over thousands of partitions sends frames of tens of MiB, and an unpooled class made
// every one of them a fresh, zeroed allocation.
func TestLargeFramesArePooled(t *testing.T) {
	const socketRequestMaxBytes = 100 << 20 // the config's default
	for _, n := range []int{1, 4 << 10, 9 << 20, 40 << 20, socketRequestMaxBytes} {
		c := frameClass(n)
		if c < 0 {
			t.Fatalf("a frame of %d bytes has no pool class", n)
		}
		if size := 1 << (c + minFrameClass); size < n || size >= 2*max(n, 1<<minFrameClass) {
			t.Fatalf("a frame of %d bytes gets class %d (%d bytes)", n, c, size)
		}
		b := getFrame(n)
		if len(b) != n || cap(b) != 1<<(c+minFrameClass) {
			t.Fatalf("getFrame(%d): len %d cap %d", n, len(b), cap(b))
		}
		putFrame(b)
	}
	if c := frameClass(1<<maxFrameClass + 1); c >= 0 {
		t.Fatalf("a frame past the largest class got class %d", c)
	}
}

// BenchmarkFrame40MiB gets and puts a produce-sized frame: 0 allocations once the pool holds one.
func BenchmarkFrame40MiB(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		putFrame(getFrame(40 << 20))
	}
}
