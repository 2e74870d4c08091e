package avro

import (
	"bufio"
	"encoding/json"
	"math/rand"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestCanonicalAgainstJavaAvro compares Canonical with Avro Java's Schema.toString, which is
// what Confluent stores, byte for byte, on testdata/canonical-corpus.txt (numbers, escapes,
// namespaces, aliases, properties, logical types, orders), the golden compatibility table's
// schemas and random records. It needs a JDK and Debian's libavro-java (Avro 1.8.2, whose
// toString is the same as 1.12's) and is skipped without them. Only schemas both accept are
// compared: Avro 1.8's default checks are older than 1.12's, which Parse follows (a union's
// default may match any branch; a long's default must be an integer).
func TestCanonicalAgainstJavaAvro(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a JVM; not in -short runs")
	}
	classpath := []string{"/usr/share/java/avro.jar", "/usr/share/java/jackson-core-asl.jar",
		"/usr/share/java/jackson-mapper-asl.jar", "/usr/share/java/slf4j-api.jar"}
	for _, jar := range classpath {
		if _, err := os.Stat(jar); err != nil {
			t.Skipf("%s is missing (Debian's libavro-java)", jar)
		}
	}
	if _, err := exec.LookPath("javac"); err != nil {
		t.Skip("no javac")
	}
	dir := t.TempDir()
	cp := strings.Join(classpath, ":")
	if out, err := exec.Command("javac", "-cp", cp, "-d", dir, "testdata/Canon.java").CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}

	var corpus []string
	text, err := os.ReadFile("testdata/canonical-corpus.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(text), "\n") {
		if line != "" {
			corpus = append(corpus, line)
		}
	}
	data, err := os.ReadFile("testdata/compat.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []compatCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		corpus = append(corpus, c.Old, c.New)
	}
	rng := rand.New(rand.NewSource(3))
	for len(corpus) < 1500 {
		s := randomRecord(&chooser{base: rng})
		if !strings.Contains(s, `"default":"A"}`) { // enum defaults are newer than Avro 1.8
			corpus = append(corpus, s)
		}
	}

	cmd := exec.Command("java", "-cp", cp+":"+dir, "Canon")
	cmd.Stdin = strings.NewReader(strings.Join(corpus, "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("java: %v", err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(nil, 1<<20)
	compared := 0
	for i := 0; sc.Scan(); i++ {
		want := sc.Text()
		s, err := New().Parse(corpus[i], nil)
		if err != nil || strings.HasPrefix(want, "ERROR: ") {
			continue
		}
		compared++
		if got := s.Canonical(); got != want {
			t.Errorf("schema %s\n java %s\n   go %s", corpus[i], want, got)
		}
	}
	if compared < len(corpus)*9/10 {
		t.Fatalf("compared only %d of %d schemas", compared, len(corpus))
	}
	t.Logf("%d schemas written as Avro Java writes them", compared)
}
