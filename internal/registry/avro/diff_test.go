package avro

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestAgainstPythonAvro compares CanRead's verdicts with Python Avro's port of Java's
// SchemaCompatibility (Debian's python3-avro) on random pairs of record schemas that share
// field names, types, enums, fixeds, unions, nested records and defaults: both must agree on
// compatible or not and on the incompatibility types found. Skipped where python3-avro is
// not installed (scripts/install-test-deps.sh installs it).
func TestAgainstPythonAvro(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import avro.compatibility").Run(); err != nil {
		t.Skip("python3-avro is not installed")
	}
	pairs := 3000
	if testing.Short() {
		pairs = 600
	}
	rng := rand.New(rand.NewSource(16))
	var in bytes.Buffer
	type pair struct{ reader, writer string }
	var all []pair
	for len(all) < pairs {
		// The writer makes the reader's choices but, at each, a different one now and then
		// (sometimes never, sometimes often), so the pairs range from equal to unrelated.
		seed := rng.Int63()
		noise := []float64{0, 0.02, 0.05, 0.1, 0.3, 1}[rng.Intn(6)]
		a := randomRecord(&chooser{base: rand.New(rand.NewSource(seed))})
		b := randomRecord(&chooser{base: rand.New(rand.NewSource(seed)), noise: rng, p: noise})
		all = append(all, pair{a, b})
		line, _ := json.Marshal(map[string]string{"reader": a, "writer": b})
		in.Write(append(line, '\n'))
	}
	cmd := exec.Command("/usr/bin/python3", "testdata/pyavro_compat.py")
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	compared, incompatible := 0, 0
	for i := 0; sc.Scan(); i++ {
		var want struct {
			Compatible bool     `json:"compatible"`
			Types      []string `json:"types"`
			Error      string   `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &want); err != nil {
			t.Fatal(err)
		}
		p := all[i]
		reader, err := New().Parse(p.reader, nil)
		if err != nil {
			t.Fatalf("Parse(%s): %v", p.reader, err)
		}
		writer, err := New().Parse(p.writer, nil)
		if err != nil {
			t.Fatalf("Parse(%s): %v", p.writer, err)
		}
		if want.Error != "" {
			continue
		}
		msgs := reader.CanRead(writer)
		var types []string
		for _, m := range msgs {
			kind, _, _ := strings.Cut(strings.TrimPrefix(m, "{errorType:'"), "'")
			if !slices.Contains(types, kind) {
				types = append(types, kind)
			}
		}
		sort.Strings(types)
		if (len(msgs) == 0) != want.Compatible || !slices.Equal(types, want.Types) {
			t.Errorf("reader %s\nwriter %s\n got %v\nwant compatible=%v %v", p.reader, p.writer, msgs, want.Compatible, want.Types)
		}
		compared++
		if !want.Compatible {
			incompatible++
		}
	}
	t.Logf("compared %d pairs with Python Avro, %d incompatible", compared, incompatible)
	if compared < len(all)*9/10 || incompatible == 0 || incompatible == compared {
		t.Fatalf("compared %d of %d pairs, %d incompatible: the generator does not cover both verdicts", compared, len(all), incompatible)
	}
}

// randomRecord is a record "R" with up to four fields drawn from a small pool, so two draws
// often share fields with different types, defaults and shapes.
func randomRecord(rng *chooser) string {
	names := []string{"a", "b", "c", "d"}
	rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	n := 1 + rng.Intn(4)
	fields := make([]string, 0, n)
	for _, name := range names[:n] {
		typ, def := randomType(rng, 0, "T_"+name)
		f := fmt.Sprintf(`{"name":%q,"type":%s`, name, typ)
		if def != "" && rng.Intn(2) == 0 {
			f += `,"default":` + def
		}
		if rng.Intn(4) == 0 { // an alias: the field may have been renamed from another
			f += fmt.Sprintf(`,"aliases":[%q]`, []string{"a", "b", "c", "d", "e"}[rng.Intn(5)])
		}
		fields = append(fields, f+"}")
	}
	return `{"type":"record","name":"R","fields":[` + strings.Join(fields, ",") + `]}`
}

// randomType returns a type and a default valid for it ("" when none is easy to write). Named
// types are named after their place (path), so a schema never defines a name twice and two
// draws name the types at the same place alike.
func randomType(rng *chooser, depth int, path string) (string, string) {
	prims := []struct{ t, d string }{
		{"null", "null"}, {"boolean", "true"}, {"int", "1"}, {"long", "2"},
		{"float", "1.5"}, {"double", "2.5"}, {"bytes", `"x"`}, {"string", `"s"`},
	}
	k := rng.Intn(14)
	if depth > 1 && k >= 8 {
		k = rng.Intn(8)
	}
	switch {
	case k < 8:
		p := prims[k]
		return `"` + p.t + `"`, p.d
	case k == 8:
		all := []string{"A", "B", "C", "D"}
		syms := all[:1+rng.Intn(4)]
		enum := `{"type":"enum",` + renamed(rng, path) + `,"symbols":["` + strings.Join(syms, `","`) + `"]`
		if rng.Intn(3) == 0 {
			enum += `,"default":"A"`
		}
		return enum + "}", `"A"`
	case k == 9:
		return `{"type":"fixed",` + renamed(rng, path) + fmt.Sprintf(`,"size":%d}`, 1+rng.Intn(2)), `"x"`
	case k == 10:
		items, _ := randomType(rng, depth+1, path+"_i")
		return `{"type":"array","items":` + items + `}`, "[]"
	case k == 11:
		values, _ := randomType(rng, depth+1, path+"_v")
		return `{"type":"map","values":` + values + `}`, "{}"
	case k == 12:
		// A union of distinct primitives (named types would need distinct names).
		perm := rng.Perm(8)[:1+rng.Intn(3)]
		branches := make([]string, len(perm))
		for i, j := range perm {
			branches[i] = `"` + prims[j].t + `"`
		}
		return "[" + strings.Join(branches, ",") + "]", prims[perm[0]].d
	default:
		inner, innerDef := randomType(rng, depth+1, path+"_x")
		f := `{"name":"x","type":` + inner
		if innerDef != "" && rng.Intn(2) == 0 {
			f += `,"default":` + innerDef
		}
		return `{"type":"record",` + renamed(rng, path) + `,"fields":[` + f + `}]}`, ""
	}
}

// renamed is a named type's "name" (and "aliases") attributes: usually name itself, sometimes a
// new name with or without the old one as an alias.
func renamed(rng *chooser, name string) string {
	switch rng.Intn(8) {
	case 0:
		return `"name":"` + name + `_2","aliases":["` + name + `"]`
	case 1:
		return `"name":"` + name + `_3"`
	}
	return `"name":"` + name + `"`
}

// chooser makes random choices from base; with probability p a choice is taken from noise
// instead (base is still drawn from, so later choices stay aligned with another chooser on the
// same seed).
type chooser struct {
	base, noise *rand.Rand
	p           float64
}

func (c *chooser) Intn(n int) int {
	v := c.base.Intn(n)
	if c.noise != nil && c.noise.Float64() < c.p {
		v = c.noise.Intn(n)
	}
	return v
}

func (c *chooser) Shuffle(n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		swap(i, c.Intn(i+1))
	}
}

func (c *chooser) Perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	c.Shuffle(n, func(i, j int) { p[i], p[j] = p[j], p[i] })
	return p
}
