package api

import (
	"cmp"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// ErrorMessage is the message to put in a response's error message field
// (where the version has one): nil for no error, as Kafka leaves it null.
//
// The message never carries a server file path: errors from storage name the
// files they failed on (open /var/lib/sluice/t-0/00000000000000000000.log:
// ...), which tells a client where the data directory is and nothing it can
// act on. Every path is cut to its last element (the segment or index file),
// which still tells an operator reading a client's report which file failed.
func ErrorMessage(err error) *string {
	if err == nil {
		return nil
	}
	s := clientMessage(err)
	return &s
}

// clientMessage is err's text with server file paths cut to their last element.
func clientMessage(err error) string {
	msg := err.Error()
	// First the paths the error chain names exactly (fs.PathError, os.LinkError), so that a path
	// with spaces or odd characters is caught whole; then anything else shaped like a path.
	for _, p := range errorPaths(err) {
		if p != "" && p != "." && p != "/" {
			msg = strings.ReplaceAll(msg, p, filepath.Base(p))
		}
	}
	return pathLike.ReplaceAllStringFunc(msg, func(m string) string {
		sub := pathLike.FindStringSubmatch(m)
		return sub[1] + filepath.Base(sub[2])
	})
}

// pathLike matches an absolute path, or one starting with ./ or ../, that begins a word of the
// message: at the start, or after a space, quote, parenthesis, bracket or '='. Topic names
// cannot contain '/', so no Kafka name is mistaken for a path; a group id or transactional id
// that looks like an absolute path is shortened too, which costs the client nothing it did
// not send itself.
var pathLike = regexp.MustCompile(`(^|[\s"'(\[=])((?:/|\.\.?/)[^\s"'()\[\],;:]+)`)

// errorPaths collects the file paths named by the errors in err's tree, longest first so that a
// path is replaced before any path it contains.
func errorPaths(err error) []string {
	var paths []string
	var walk func(error)
	walk = func(e error) {
		switch v := e.(type) {
		case *fs.PathError:
			paths = append(paths, v.Path)
		case *os.LinkError:
			paths = append(paths, v.Old, v.New)
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			if next := u.Unwrap(); next != nil {
				walk(next)
			}
		case interface{ Unwrap() []error }:
			for _, next := range u.Unwrap() {
				if next != nil {
					walk(next)
				}
			}
		}
	}
	walk(err)
	slices.SortFunc(paths, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return paths
}
