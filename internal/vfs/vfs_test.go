package vfs

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
)

// fsUnderTest returns each implementation with a fresh root directory.
func fsUnderTest(t *testing.T) map[string]struct {
	fs   FS
	root string
} {
	t.Helper()
	mem := NewMem()
	if err := mem.MkdirAll("/root"); err != nil {
		t.Fatal(err)
	}
	return map[string]struct {
		fs   FS
		root string
	}{
		"os":       {OS, t.TempDir()},
		"mem":      {mem, "/root"},
		"injector": {NewInjector(NewMem()), "/"},
	}
}

func mustWriteFile(t *testing.T, fsys FS, name string, data []byte) {
	t.Helper()
	f, err := fsys.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func readAll(t *testing.T, fsys FS, name string) []byte {
	t.Helper()
	f, err := fsys.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return buf
}

// conformance cases run against every FS implementation; p maps a name into the case's
// root directory.
var conformance = []struct {
	name string
	fn   func(t *testing.T, fsys FS, p func(string) string)
}{
	{"writes append after truncate", confWritesAppendAfterTruncate},
	{"reopen for write appends", confReopenForWriteAppends},
	{"readat past end is EOF", confReadAtPastEndIsEOF},
	{"missing files match ErrNotExist", confMissingFilesMatchErrNotExist},
	{"rename replaces and readdir sorts", confRenameReplacesAndReaddirSorts},
	{"open handle survives remove", confOpenHandleSurvivesRemove},
	{"read-only handle refuses writes", confReadOnlyHandleRefusesWrites},
}

func TestFSConformance(t *testing.T) {
	for impl, tc := range fsUnderTest(t) {
		p := func(name string) string { return filepath.Join(tc.root, name) }
		t.Run(impl, func(t *testing.T) {
			for _, c := range conformance {
				t.Run(c.name, func(t *testing.T) { c.fn(t, tc.fs, p) })
			}
		})
	}
}

func confWritesAppendAfterTruncate(t *testing.T, fsys FS, p func(string) string) {
	f, err := fsys.Create(p("a"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.Write([]byte("hello world")); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(5); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("!!")); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, fsys, p("a")); string(got) != "hello!!" {
		t.Fatalf("content %q, want %q", got, "hello!!")
	}
	if size, _ := f.Size(); size != 7 {
		t.Fatalf("size %d, want 7", size)
	}
}

func confReopenForWriteAppends(t *testing.T, fsys FS, p func(string) string) {
	mustWriteFile(t, fsys, p("b"), []byte("abc"))
	f, err := fsys.OpenReadWrite(p("b"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("def")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got := readAll(t, fsys, p("b")); string(got) != "abcdef" {
		t.Fatalf("content %q", got)
	}
}

func confReadAtPastEndIsEOF(t *testing.T, fsys FS, p func(string) string) {
	mustWriteFile(t, fsys, p("c"), []byte("xyz"))
	f, err := fsys.Open(p("c"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4)
	n, err := f.ReadAt(buf, 1)
	if n != 2 || !errors.Is(err, io.EOF) {
		t.Fatalf("ReadAt = %d, %v; want 2, EOF", n, err)
	}
}

func confMissingFilesMatchErrNotExist(t *testing.T, fsys FS, p func(string) string) {
	if _, err := fsys.Open(p("missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open: %v", err)
	}
	if _, err := fsys.Stat(p("missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat: %v", err)
	}
	if err := fsys.Remove(p("missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Remove: %v", err)
	}
	if err := fsys.RemoveAll(p("missing/dir")); err != nil {
		t.Fatalf("RemoveAll of a missing dir: %v", err)
	}
}

func confRenameReplacesAndReaddirSorts(t *testing.T, fsys FS, p func(string) string) {
	if err := fsys.MkdirAll(p("d/e")); err != nil {
		t.Fatal(err)
	}
	mustWriteFile(t, fsys, p("d/z"), []byte("old"))
	mustWriteFile(t, fsys, p("d/tmp"), []byte("new"))
	if err := fsys.Rename(p("d/tmp"), p("d/z")); err != nil {
		t.Fatal(err)
	}
	if err := fsys.SyncDir(p("d")); err != nil {
		t.Fatal(err)
	}
	names, err := fsys.ReadDir(p("d"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"e", "z"}) {
		t.Fatalf("ReadDir = %v", names)
	}
	if got := readAll(t, fsys, p("d/z")); string(got) != "new" {
		t.Fatalf("content %q", got)
	}
	info, err := fsys.Stat(p("d/e"))
	if err != nil || !info.IsDir || info.Name != "e" {
		t.Fatalf("Stat = %+v, %v", info, err)
	}
}

func confOpenHandleSurvivesRemove(t *testing.T, fsys FS, p func(string) string) {
	mustWriteFile(t, fsys, p("r"), []byte("keep"))
	f, err := fsys.Open(p("r"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := fsys.Remove(p("r")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := f.ReadAt(buf, 0); err != nil || string(buf) != "keep" {
		t.Fatalf("ReadAt after remove = %q, %v", buf, err)
	}
}

func confReadOnlyHandleRefusesWrites(t *testing.T, fsys FS, p func(string) string) {
	mustWriteFile(t, fsys, p("ro"), []byte("x"))
	f, err := fsys.Open(p("ro"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("y")); err == nil {
		t.Fatal("write on a read-only handle succeeded")
	}
}

func TestOSFileExposesDescriptor(t *testing.T) {
	dir := t.TempDir()
	for name, fsys := range map[string]FS{"os": OS, "injector over os": NewInjector(OS)} {
		t.Run(name, func(t *testing.T) {
			f, err := fsys.Create(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			of, ok := f.(OSFiler)
			if !ok || of.OSFile() == nil {
				t.Fatalf("%T does not expose its *os.File", f)
			}
		})
	}
}

// crashStep is one operation of a TestMemCrash case.
type crashStep func(t *testing.T, m *MemFS)

func stepWrite(name, data string, sync bool) crashStep {
	return func(t *testing.T, m *MemFS) {
		t.Helper()
		f, err := m.OpenReadWrite(name)
		if errors.Is(err, fs.ErrNotExist) {
			f, err = m.Create(name)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
		if sync {
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func stepSyncDir(dir string) crashStep {
	return func(t *testing.T, m *MemFS) {
		if err := m.SyncDir(dir); err != nil {
			t.Fatal(err)
		}
	}
}

func stepTruncate(name string, size int64, sync bool) crashStep {
	return func(t *testing.T, m *MemFS) {
		f, err := m.OpenReadWrite(name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		if sync {
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func stepRename(from, to string) crashStep {
	return func(t *testing.T, m *MemFS) {
		if err := m.Rename(from, to); err != nil {
			t.Fatal(err)
		}
	}
}

func stepRemove(name string) crashStep {
	return func(t *testing.T, m *MemFS) {
		if err := m.Remove(name); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMemCrash(t *testing.T) {
	write, syncDir, truncate, rename, remove := stepWrite, stepSyncDir, stepTruncate, stepRename, stepRemove
	cases := []struct {
		name  string
		steps []crashStep
		want  map[string]string // file -> content after crash; absent = must not exist
	}{
		{"unsynced create is lost", []crashStep{write("/d/a", "x", true)}, map[string]string{}},
		{"synced file and dir survive", []crashStep{write("/d/a", "x", true), syncDir("/d")}, map[string]string{"/d/a": "x"}},
		{"unsynced tail dropped", []crashStep{write("/d/a", "abc", true), syncDir("/d"), write("/d/a", "def", false)},
			map[string]string{"/d/a": "abc"}},
		{"entry synced before data", []crashStep{write("/d/a", "abc", false), syncDir("/d")}, map[string]string{"/d/a": ""}},
		{"unsynced truncate undone", []crashStep{write("/d/a", "abcdef", true), syncDir("/d"), truncate("/d/a", 2, false), write("/d/a", "zz", false)},
			map[string]string{"/d/a": "abcdef"}},
		{"synced truncate kept", []crashStep{write("/d/a", "abcdef", true), syncDir("/d"), truncate("/d/a", 2, true)},
			map[string]string{"/d/a": "ab"}},
		{"unsynced rename undone", []crashStep{write("/d/a", "x", true), syncDir("/d"), rename("/d/a", "/d/b")},
			map[string]string{"/d/a": "x"}},
		{"synced rename kept", []crashStep{write("/d/a", "x", true), write("/d/b", "old", true), syncDir("/d"), rename("/d/a", "/d/b"), syncDir("/d")},
			map[string]string{"/d/b": "x"}},
		{"unsynced remove undone", []crashStep{write("/d/a", "x", true), syncDir("/d"), remove("/d/a")}, map[string]string{"/d/a": "x"}},
		{"synced remove kept", []crashStep{write("/d/a", "x", true), syncDir("/d"), remove("/d/a"), syncDir("/d")}, map[string]string{}},
		// SyncDir applies only the entries changed since the last one: changes after it,
		// undone changes and a name reused must all come out as a full copy would.
		{"rename back after a sync undone", []crashStep{write("/d/a", "x", true), syncDir("/d"), rename("/d/a", "/d/b"), syncDir("/d"), rename("/d/b", "/d/a")},
			map[string]string{"/d/b": "x"}},
		{"rename and rename back synced", []crashStep{write("/d/a", "x", true), syncDir("/d"), rename("/d/a", "/d/b"), rename("/d/b", "/d/a"), syncDir("/d")},
			map[string]string{"/d/a": "x"}},
		{"removed and recreated", []crashStep{write("/d/a", "x", true), syncDir("/d"), remove("/d/a"), write("/d/a", "y", true), syncDir("/d")},
			map[string]string{"/d/a": "y"}},
		{"second sync keeps the first's entries", []crashStep{write("/d/a", "x", true), syncDir("/d"), write("/d/b", "y", true), syncDir("/d"), write("/d/c", "z", true)},
			map[string]string{"/d/a": "x", "/d/b": "y"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMem()
			if err := m.MkdirAll("/d"); err != nil {
				t.Fatal(err)
			}
			if err := m.SyncDir("/"); err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.steps {
				s(t, m)
			}
			after := m.CrashClone(CrashOptions{})
			names, err := after.ReadDir("/d")
			if err != nil {
				t.Fatal(err)
			}
			if len(names) != len(tc.want) {
				t.Fatalf("files after crash %v, want %v", names, tc.want)
			}
			for name, want := range tc.want {
				if got := readAll(t, after, name); string(got) != want {
					t.Fatalf("%s = %q after crash, want %q", name, got, want)
				}
			}
		})
	}
}

// TestMemCrashCloneSyncDir: a crash clone starts with nothing pending, so its own SyncDir
// keeps what survived the crash plus what changed on the clone.
func TestMemCrashCloneSyncDir(t *testing.T) {
	m := NewMem()
	for _, step := range []crashStep{stepWrite("/a", "x", true), stepWrite("/b", "y", true), stepSyncDir("/"), stepRemove("/a")} {
		step(t, m)
	}
	c := m.CrashClone(CrashOptions{})
	for _, step := range []crashStep{stepWrite("/c", "z", true), stepSyncDir("/")} {
		step(t, c)
	}
	names, err := c.CrashClone(CrashOptions{}).ReadDir("/")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "c"}; !slices.Equal(names, want) {
		t.Fatalf("after a crash of the clone: %v, want %v", names, want)
	}
}

func TestMemCrashUnsyncedDirIsLost(t *testing.T) {
	m := NewMem()
	if err := m.MkdirAll("/a/b"); err != nil {
		t.Fatal(err)
	}
	mustWriteFile(t, m, "/a/b/f", []byte("x"))
	if err := m.SyncDir("/a/b"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CrashClone(CrashOptions{}).Stat("/a"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("directory never synced into / survived: %v", err)
	}
	if err := m.SyncDir("/a"); err != nil {
		t.Fatal(err)
	}
	if err := m.SyncDir("/"); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, m.CrashClone(CrashOptions{}), "/a/b/f"); string(got) != "x" {
		t.Fatalf("content %q", got)
	}
}

func TestMemCrashTornTail(t *testing.T) {
	const synced, unsynced = "0123456789", "abcdefghijklmnopqrstuvwxyz"
	sawShort, sawFull, sawHole := false, false, false
	for seed := range uint64(200) {
		m := NewMem()
		mustWriteFile(t, m, "/f", []byte(synced))
		if err := m.SyncDir("/"); err != nil {
			t.Fatal(err)
		}
		f, err := m.OpenReadWrite("/f")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(unsynced)); err != nil {
			t.Fatal(err)
		}
		f.Close()
		got := readAll(t, m.CrashClone(CrashOptions{Rand: rand.New(rand.NewPCG(seed, 1)), ZeroHoles: seed%2 == 0}), "/f")
		if len(got) < len(synced) || len(got) > len(synced)+len(unsynced) {
			t.Fatalf("seed %d: size %d outside [%d, %d]", seed, len(got), len(synced), len(synced)+len(unsynced))
		}
		if !bytes.Equal(got[:len(synced)], []byte(synced)) {
			t.Fatalf("seed %d: synced bytes changed: %q", seed, got)
		}
		tail := got[len(synced):]
		want := []byte(unsynced[:len(tail)])
		if !bytes.Equal(tail, want) {
			if seed%2 == 1 {
				t.Fatalf("seed %d: kept tail %q is not a prefix of the write", seed, tail)
			}
			sawHole = true
			for i := range tail {
				if tail[i] != 0 && tail[i] != want[i] {
					t.Fatalf("seed %d: kept tail %q has bytes never written", seed, tail)
				}
			}
		}
		sawShort = sawShort || len(tail) < len(unsynced)
		sawFull = sawFull || len(tail) == len(unsynced)
	}
	if !sawShort || !sawFull || !sawHole {
		t.Fatalf("200 seeds never produced a short tail (%v), a full tail (%v) or a hole (%v)", sawShort, sawFull, sawHole)
	}
}

func TestInjector(t *testing.T) {
	cases := []struct {
		name  string
		rule  Rule
		calls []string // file names written, in order
		fails []bool   // which of the calls fail
	}{
		{"every write", Rule{Op: OpWrite}, []string{"a", "b"}, []bool{true, true}},
		{"by base name pattern", Rule{Op: OpWrite, Path: "*.log"}, []string{"x.index", "x.log"}, []bool{false, true}},
		{"by full path pattern", Rule{Op: OpWrite, Path: "/d/x.*"}, []string{"x.index", "y.log"}, []bool{true, false}},
		{"after two calls", Rule{Op: OpWrite, After: 2}, []string{"a", "a", "a", "a"}, []bool{false, false, true, true}},
		{"once", Rule{Op: OpWrite, Times: 1}, []string{"a", "a"}, []bool{true, false}},
		{"other op never fails writes", Rule{Op: OpSync}, []string{"a"}, []bool{false}},
		{"any op", Rule{Op: OpAny, Path: "a"}, []string{"a"}, []bool{true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := NewMem()
			if err := mem.MkdirAll("/d"); err != nil {
				t.Fatal(err)
			}
			files := map[string]File{}
			for _, name := range tc.calls {
				if files[name] == nil {
					f, err := mem.Create("/d/" + name)
					if err != nil {
						t.Fatal(err)
					}
					files[name] = f
				}
			}
			in := NewInjector(mem, tc.rule)
			for i, name := range tc.calls {
				f, err := in.OpenReadWrite("/d/" + name)
				if err != nil {
					if tc.rule.Op == OpAny {
						if !tc.fails[i] || !errors.Is(err, ErrInjected) {
							t.Fatalf("call %d: open: %v", i, err)
						}
						continue
					}
					t.Fatal(err)
				}
				_, err = f.Write([]byte("x"))
				f.Close()
				if got := err != nil; got != tc.fails[i] {
					t.Fatalf("call %d (%s): failed=%v, want %v (err %v)", i, name, got, tc.fails[i], err)
				}
				if err != nil {
					var ie *InjectedError
					if !errors.Is(err, ErrInjected) || !errors.As(err, &ie) || ie.Op != OpWrite {
						t.Fatalf("call %d: error %v is not an injected write fault", i, err)
					}
				}
			}
		})
	}
}

func TestInjectorShortWrite(t *testing.T) {
	mem := NewMem()
	in := NewInjector(mem, Rule{Op: OpWrite, ShortWrite: 3})
	f, err := in.Create("/f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := f.Write([]byte("abcdef"))
	if n != 3 || !errors.Is(err, ErrInjected) {
		t.Fatalf("Write = %d, %v; want 3, injected", n, err)
	}
	if got := readAll(t, mem, "/f"); string(got) != "abc" {
		t.Fatalf("content %q, want the short write %q", got, "abc")
	}
	in.SetRules()
	if _, err := f.Write([]byte("g")); err != nil {
		t.Fatalf("write after clearing rules: %v", err)
	}
}

func TestSyncAll(t *testing.T) {
	t.Run("mem makes everything durable", func(t *testing.T) {
		m := NewMem()
		if err := m.MkdirAll("/a/b"); err != nil {
			t.Fatal(err)
		}
		f, err := m.Create("/a/b/f")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte("data")); err != nil {
			t.Fatal(err)
		}
		f.Close()
		s, err := m.OpenSyncer("/a")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.SyncAll(); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, m.CrashClone(CrashOptions{}), "/a/b/f"); string(got) != "data" {
			t.Fatalf("after SyncAll and a crash: %q", got)
		}
	})
	t.Run("os", func(t *testing.T) {
		s, err := OS.OpenSyncer(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.SyncAll(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("injected", func(t *testing.T) {
		in := NewInjector(NewMem(), Rule{Op: OpSyncAll})
		s, err := in.OpenSyncer("/")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SyncAll(); !errors.Is(err, ErrInjected) {
			t.Fatalf("SyncAll = %v", err)
		}
	})
}

// TestDataSync: on every implementation DataSync makes an appended tail durable (MemFS and
// wrappers through Sync; the OS through fdatasync(2), which must succeed on a regular file).
func TestDataSync(t *testing.T) {
	for name, u := range fsUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			f, err := u.fs.Create(filepath.Join(u.root, "a"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write([]byte("appended")); err != nil {
				t.Fatal(err)
			}
			if err := DataSync(f); err != nil {
				t.Fatal(err)
			}
			m, ok := u.fs.(*MemFS)
			if !ok {
				return
			}
			for _, dir := range []string{u.root, filepath.Dir(u.root)} {
				if err := m.SyncDir(dir); err != nil {
					t.Fatal(err)
				}
			}
			if got := readAll(t, m.CrashClone(CrashOptions{}), filepath.Join(u.root, "a")); string(got) != "appended" {
				t.Fatalf("after DataSync and a crash the file holds %q", got)
			}
		})
	}
}
