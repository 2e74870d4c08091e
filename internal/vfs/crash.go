package vfs

import (
	"math/rand/v2"
	"slices"
)

// CrashOptions choose how much of the unsynced state survives a simulated power loss.
type CrashOptions struct {
	// Rand, when set, keeps a random prefix of each file's unsynced tail (a torn write);
	// when nil every unsynced byte is lost.
	Rand *rand.Rand
	// ZeroHoles, with Rand, also zeroes a random range inside each kept unsynced tail, as when
	// the file's size reached the disk but one of its blocks did not.
	ZeroHoles bool
}

// CrashClone returns a new MemFS holding what a machine would find after a power loss at
// this instant: files as of their last Sync (plus, with opts.Rand, part of what followed),
// and directory entries as of their directory's last SyncDir. The receiver is unchanged and
// stays usable, so a test can stop its workload afterwards.
func (m *MemFS) CrashClone(opts CrashOptions) *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := &MemFS{}
	c.mu.now = m.mu.now
	c.mu.root = crashDir(m.mu.root, opts)
	return c
}

func crashDir(d *memNode, opts CrashOptions) *memNode {
	out := newDir(d.modTime)
	for name, child := range d.durableChildren {
		var n *memNode
		if child.isDir {
			n = crashDir(child, opts)
		} else {
			n = &memNode{modTime: child.modTime, data: crashData(child, opts)}
			n.syncedLen = len(n.data)
		}
		out.children[name] = n
		out.durableChildren[name] = n
	}
	return out
}

// crashData returns the bytes of file n that survive.
func crashData(n *memNode, opts CrashOptions) []byte {
	if n.detached {
		// The file was cut below its synced size and not synced since: the cut and
		// whatever followed it are lost.
		return slices.Clone(n.durableCopy)
	}
	durable := slices.Clone(n.data[:n.syncedLen])
	tail := n.data[n.syncedLen:]
	if opts.Rand == nil || len(tail) == 0 {
		return durable
	}
	keep := opts.Rand.IntN(len(tail) + 1)
	kept := append(durable, tail[:keep]...)
	if opts.ZeroHoles && keep > 0 {
		start := n.syncedLen + opts.Rand.IntN(keep)
		end := start + 1 + opts.Rand.IntN(len(kept)-start)
		clear(kept[start:end])
	}
	return kept
}
