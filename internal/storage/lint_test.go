package storage

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// osTypes are the types of package os: a conversion to one looks like a call but is not an
// operation.
var osTypes = map[string]bool{"File": true, "FileMode": true, "FileInfo": true, "DirEntry": true,
	"PathError": true, "LinkError": true, "SyscallError": true, "Signal": true}

// TestNoDirectOSCalls keeps every file operation behind internal/vfs, so that crash
// simulation and fault injection cover all of storage. Types and constants of package os
// (os.File for sendfile, os.FileMode) are fine; calling its functions is not.
func TestNoDirectOSCalls(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		osName := ""
		for _, imp := range f.Imports {
			if imp.Path.Value == `"os"` {
				osName = "os"
				if imp.Name != nil {
					osName = imp.Name.Name
				}
			}
		}
		if osName == "" {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == osName && !osTypes[sel.Sel.Name] {
				t.Errorf("%s: calls %s.%s; use internal/vfs", fset.Position(call.Pos()), osName, sel.Sel.Name)
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("no source files checked")
	}
}
