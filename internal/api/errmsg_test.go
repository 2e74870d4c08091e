package api

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestErrorMessageHasNoServerPaths(t *testing.T) {
	dataDir := t.TempDir()
	segment := filepath.Join(dataDir, "orders-0", "00000000000000000000.log")
	_, openErr := os.Open(segment) // a real *fs.PathError from the OS
	if openErr == nil {
		t.Fatal("opening a missing file succeeded")
	}
	spaced := filepath.Join(dataDir, "dir with spaces", "x.index")
	cases := []struct {
		name string
		err  error
		want string // a piece of text that must survive
	}{
		{"path error wrapped", fmt.Errorf("append to orders-0: %w", openErr), "00000000000000000000.log"},
		{"path in text", fmt.Errorf("recover segment %s: bad CRC at 4096", segment), "bad CRC at 4096"},
		{"path with spaces", fmt.Errorf("roll: %w", &os.PathError{Op: "open", Path: spaced, Err: os.ErrPermission}), "x.index"},
		{"link error", fmt.Errorf("publish: %w", &os.LinkError{Op: "rename", Old: segment + ".tmp", New: segment, Err: os.ErrExist}), "rename"},
		{"joined", errors.Join(errors.New("first"), fmt.Errorf("open %q failed", segment)), "first"},
		{"relative", errors.New("cannot read ./sluice-data/meta.properties"), "meta.properties"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := *ErrorMessage(c.err)
			if strings.Contains(msg, dataDir) || strings.Contains(msg, "sluice-data") || strings.Contains(msg, "/") {
				t.Errorf("message %q reveals a server path", msg)
			}
			if !strings.Contains(msg, c.want) {
				t.Errorf("message %q lost %q", msg, c.want)
			}
		})
	}
}

func TestErrorMessageKeepsOrdinaryText(t *testing.T) {
	for _, text := range []string{
		"unknown topic config name: segment.bytes",
		"retention.ms=-5: value must be at least -1",
		"Group g1 is not a classic group.",
		"ratio 1/2 of records invalid",
	} {
		if got := *ErrorMessage(errors.New(text)); got != text {
			t.Errorf("ErrorMessage(%q) = %q", text, got)
		}
	}
	if ErrorMessage(nil) != nil {
		t.Error("nil error has a message")
	}
}

// TestNoRawErrorTextToClients holds the handlers to ErrorMessage: no ErrorMessage field of a
// response is assigned anything that calls an error's Error method directly, which would send
// server file paths to the client unfiltered. kerr's fixed descriptions are allowed.
func TestNoRawErrorTextToClients(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			as, ok := n.(*ast.AssignStmt)
			if !ok || len(as.Lhs) != len(as.Rhs) {
				return true
			}
			for i, lhs := range as.Lhs {
				if sel, ok := lhs.(*ast.SelectorExpr); !ok || sel.Sel.Name != "ErrorMessage" {
					continue
				}
				ast.Inspect(as.Rhs[i], func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok {
						return true
					}
					sel, ok := call.Fun.(*ast.SelectorExpr)
					if !ok || sel.Sel.Name != "Error" || len(call.Args) != 0 {
						return true
					}
					if inner, ok := sel.X.(*ast.CallExpr); ok {
						if fn, ok := inner.Fun.(*ast.SelectorExpr); ok && fn.Sel.Name == "ErrorForCode" {
							return true // kerr's fixed text
						}
					}
					t.Errorf("%s: ErrorMessage built from Error(); use ErrorMessage(err)", fset.Position(call.Pos()))
					return true
				})
			}
			return true
		})
	}
}
