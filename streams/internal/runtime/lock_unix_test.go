//go:build unix

package runtime

import "testing"

// TestStateDirLock: a second instance on the same state directory fails to start (it would
// share the process id and transactional.id) until the first releases it.
func TestStateDirLock(t *testing.T) {
	dir := t.TempDir()
	f, err := lockStateDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if g, err := lockStateDir(dir); err == nil {
		g.Close()
		t.Fatal("a second lock of the state dir succeeded")
	}
	f.Close()
	g, err := lockStateDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	g.Close()
}
