package console

import "strings"

// A line diff for the schema page: the longest common subsequence of lines, after the common
// prefix and suffix are set aside. Bounded: beyond maxDiffLines differing lines on a side (or
// maxDiffCells in the LCS table), the differing middle is shown as removed then added.

const (
	maxDiffLines = 3000
	maxDiffCells = 4 << 20 // uint16 cells: 8 MiB at most
)

// diffLine is one line of a diff: Op is ' ' (in both), '-' (only in a) or '+' (only in b).
type diffLine struct {
	Op   byte
	Text string
}

// OpClass is the CSS class of the line's operation.
func (d diffLine) OpClass() string {
	switch d.Op {
	case '-':
		return "del"
	case '+':
		return "add"
	}
	return "same"
}

// splitLines splits text into lines without their line ends ("" is no lines).
func splitLines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	if text == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}

// lineDiff is the diff from a to b; the second result says the middle was too large to align.
func lineDiff(a, b []string) ([]diffLine, bool) {
	var out []diffLine
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		out = append(out, diffLine{' ', a[pre]})
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	truncated := false
	if len(ma) > maxDiffLines || len(mb) > maxDiffLines || (len(ma)+1)*(len(mb)+1) > maxDiffCells {
		for _, l := range ma {
			out = append(out, diffLine{'-', l})
		}
		for _, l := range mb {
			out = append(out, diffLine{'+', l})
		}
		truncated = true
	} else {
		out = append(out, lcsDiff(ma, mb)...)
	}
	for _, l := range a[len(a)-suf:] {
		out = append(out, diffLine{' ', l})
	}
	return out, truncated
}

// lcsDiff aligns a and b by their longest common subsequence (lengths fit uint16: both are at
// most maxDiffLines long).
func lcsDiff(a, b []string) []diffLine {
	w := len(b) + 1
	// lcs[i*w+j] is the LCS length of a[i:] and b[j:].
	lcs := make([]uint16, (len(a)+1)*w)
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
			} else {
				lcs[i*w+j] = max(lcs[(i+1)*w+j], lcs[i*w+j+1])
			}
		}
	}
	var out []diffLine
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			out = append(out, diffLine{' ', a[i]})
			i++
			j++
		case lcs[(i+1)*w+j] >= lcs[i*w+j+1]:
			out = append(out, diffLine{'-', a[i]})
			i++
		default:
			out = append(out, diffLine{'+', b[j]})
			j++
		}
	}
	for ; i < len(a); i++ {
		out = append(out, diffLine{'-', a[i]})
	}
	for ; j < len(b); j++ {
		out = append(out, diffLine{'+', b[j]})
	}
	return out
}
