package config

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const (
	modulePath = "github.com/sluicehq/sluice"
	configPath = modulePath + "/internal/config"
	moduleRoot = "../.."
)

// TestEveryConfigIsRead walks both tables and fails for any config that nothing outside this
// package reads, unless its row says NoEffect (accepted without effect), and for any NoEffect
// row that something does read (the mark would be a lie).
//
// "Reads" is checked on the source, mechanically: the config's Name constant is passed to a
// getter of Resolved (r.Int64(config.X), r.Entry(config.X)) or to a function of the caller's
// own package (a wrapper such as broker.go's ms, which can only take a Name to hand it to a
// getter), anywhere in the module's non-test Go files outside internal/config. Conversions
// string(config.X) do not count: they build map keys (configs of an internal topic being
// created), which write a config rather than act on one; nor does naming a config in a message. A broker config that a topic config inherits (a synonym such
// as log.retention.hours) is read whenever that topic config is read, since ResolveTopic
// consults it.
//
// A source scan was chosen over a registry of consumers because a registry is one more list to
// keep true by hand; the scan cannot drift from the code it looks at.
func TestEveryConfigIsRead(t *testing.T) {
	consts := nameConstants(t)
	reads := readsOutsideConfig(t)

	topicRead := make(map[Name]bool)
	for _, d := range TopicDefs() {
		topicRead[d.Name] = reads[consts[d.Name]] > 0
	}
	inheritedBy := make(map[Name][]Name) // broker synonym → topic configs that inherit it
	for _, d := range TopicDefs() {
		for _, s := range d.Synonyms {
			inheritedBy[s.Name] = append(inheritedBy[s.Name], d.Name)
		}
	}
	check := func(kind string, d *Def) {
		ident, ok := consts[d.Name]
		if !ok {
			t.Errorf("%s config %s has no Name constant in internal/config", kind, d.Name)
			return
		}
		read := reads[ident] > 0
		via := ""
		if kind == "broker" {
			for _, topic := range inheritedBy[d.Name] {
				if topicRead[topic] {
					read, via = true, " (through topic config "+string(topic)+")"
				}
			}
		}
		switch {
		case !read && !d.NoEffect:
			t.Errorf("%s config %s: nothing outside internal/config reads config.%s; make it take effect or mark its row NoEffect", kind, d.Name, ident)
		case read && d.NoEffect:
			t.Errorf("%s config %s is marked NoEffect but is read%s (config.%s); remove the mark", kind, d.Name, via, ident)
		}
	}
	for _, d := range TopicDefs() {
		check("topic", d)
	}
	for _, d := range BrokerDefs() {
		check("broker", d)
	}
	// And no constant names a config that is in neither table (one left behind by a removed row
	// would still compile at its callers).
	for name, ident := range consts {
		_, topic := Topic(string(name))
		_, broker := Broker(string(name))
		_, group := Group(string(name))
		if !topic && !broker && !group {
			t.Errorf("config.%s names %q, which is in no table", ident, name)
		}
	}
}

// TestTableUsesConstants holds every row of both tables to its Name constant: a row spelled as
// a string literal would have no constant for callers to use.
func TestTableUsesConstants(t *testing.T) {
	fset := token.NewFileSet()
	for _, file := range []string{"topic_table.go", "broker_table.go"} {
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			kv, ok := n.(*ast.KeyValueExpr)
			if !ok {
				return true
			}
			if key, ok := kv.Key.(*ast.Ident); ok && key.Name == "Name" {
				if _, lit := kv.Value.(*ast.BasicLit); lit {
					t.Errorf("%s: table row names a config with a literal; declare a Name constant", fset.Position(kv.Pos()))
				}
			}
			return true
		})
	}
}

// nameConstants maps every config name to the identifier of its typed Name constant, read from
// this package's source.
func nameConstants(t *testing.T) map[Name]string {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[Name]string)
	for _, f := range pkgs["config"].Files {
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if typ, ok := vs.Type.(*ast.Ident); !ok || typ.Name != "Name" {
					continue
				}
				for i, id := range vs.Names {
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok {
						t.Fatalf("%s: Name constant %s is not a string literal", fset.Position(id.Pos()), id.Name)
					}
					v, _ := strconv.Unquote(lit.Value)
					if prev, dup := out[Name(v)]; dup {
						t.Errorf("%s: %s and %s both name %s", fset.Position(id.Pos()), prev, id.Name, v)
					}
					out[Name(v)] = id.Name
				}
			}
		}
	}
	return out
}

// readsOutsideConfig counts, per identifier, the calls in the module's non-test Go files outside
// internal/config that pass config.<identifier> as an argument.
func readsOutsideConfig(t *testing.T) map[string]int {
	t.Helper()
	reads := make(map[string]int)
	fset := token.NewFileSet()
	var files []string
	err := filepath.WalkDir(moduleRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != moduleRoot && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			if filepath.ToSlash(path) == moduleRoot+"/internal/config" {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	for _, path := range files {
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		countReads(f, reads)
	}
	if len(files) == 0 {
		t.Fatalf("no Go files under %s", moduleRoot)
	}
	return reads
}

// countReads adds to reads the configs that one file reads (see readsArgs).
func countReads(f *ast.File, reads map[string]int) {
	local := configImportName(f)
	if local == "" {
		return
	}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || !readsArgs(call.Fun) {
			return true
		}
		for _, arg := range call.Args {
			if sel, ok := arg.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == local {
					reads[sel.Sel.Name]++
				}
			}
		}
		return true
	})
}

// TestCountReads pins down what the scan counts as a read and what it does not.
func TestCountReads(t *testing.T) {
	const src = `package p
import (
	"fmt"
	cfg "github.com/sluicehq/sluice/internal/config"
)
func f(r *cfg.Resolved) {
	_ = r.Int64(cfg.RetentionMs)                           // getter: read
	_, _ = r.Entry(cfg.SegmentMs)                          // getter: read
	_ = ms(cfg.FlushMs)                                    // local wrapper: read
	_ = map[string]string{string(cfg.CleanupPolicy): "x"}  // map key: not read
	_ = fmt.Errorf("set %s", cfg.SegmentBytes)             // message: not read
	_ = cfg.MaxMessageBytes                                // bare use: not read
}
`
	f, err := parser.ParseFile(token.NewFileSet(), "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	reads := make(map[string]int)
	countReads(f, reads)
	want := map[string]int{"RetentionMs": 1, "SegmentMs": 1, "FlushMs": 1}
	if len(reads) != len(want) {
		t.Fatalf("reads %v, want %v", reads, want)
	}
	for k, v := range want {
		if reads[k] != v {
			t.Errorf("reads %v, want %v", reads, want)
		}
	}
}

// getters are the methods of Resolved that read a config, and config.Override (a topic's own
// value, read where no broker default applies).
var getters = map[string]bool{"Bool": true, "Int": true, "Int64": true, "Float64": true, "String": true, "List": true, "Entry": true,
	"Override": true}

// readsArgs reports whether a call to fn reads the configs passed to it: a getter of Resolved
// (r.Int64(config.X)), or a function of the same file or package (a plain identifier, such as
// broker.go's ms), which can only take a config.Name to pass it on to a getter. Conversions
// (string(config.X), for a map key) and calls into other packages (fmt.Errorf naming a config
// in a message) are not reads.
func readsArgs(fn ast.Expr) bool {
	switch f := fn.(type) {
	case *ast.SelectorExpr:
		return getters[f.Sel.Name]
	case *ast.Ident:
		return f.Name != "string"
	}
	return false
}

// configImportName is the name a file refers to internal/config by, or "" if it does not
// import it.
func configImportName(f *ast.File) string {
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if p != configPath {
			continue
		}
		if imp.Name != nil {
			return imp.Name.Name
		}
		return "config"
	}
	return ""
}

func TestModuleRoot(t *testing.T) {
	if _, err := os.Stat(filepath.Join(moduleRoot, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
}
