//go:build !unix

package runtime

import "os"

// lockStateDir does not lock where flock is missing; instances must not share a state
// directory.
func lockStateDir(string) (*os.File, error) { return nil, nil }
