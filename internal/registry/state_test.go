package registry

import (
	"reflect"
	"slices"
	"testing"

	"github.com/sluicehq/sluice/internal/registry/format"
)

func strp(s string) *string { return &s }

// TestApplyConfluentRecords applies records as Confluent's registry writes them to _schemas.
func TestApplyConfluentRecords(t *testing.T) {
	st := NewState()
	recs := []Record{
		{Key: Key{KeyType: KeyNoop}},
		{Key: Key{KeyType: KeyConfig}, Value: &ConfigValue{CompatibilityLevel: "FULL"}},
		{Key: schemaKey("a", 1), Value: &SchemaValue{Subject: "a", Version: 1, ID: 1, Schema: `"string"`}},
		{Key: schemaKey("b", 1), Value: &SchemaValue{Subject: "b", Version: 1, ID: 1, Schema: `"string"`}},
		{Key: schemaKey("a", 2), Value: &SchemaValue{Subject: "a", Version: 2, ID: 7, SchemaType: format.JSON, Schema: `{}`}},
		{Key: schemaKey(":.c:x", 1), Value: &SchemaValue{Subject: ":.c:x", Version: 1, ID: 1, Schema: `"int"`}},
		{Key: Key{KeyType: KeyMode, Subject: strp("a")}, Value: &ModeValue{Mode: "READONLY"}},
		{Key: Key{KeyType: KeyDeleteSubject, Subject: strp("b")}, Value: &DeleteSubjectValue{Subject: "b", Version: 1}},
		// Records that contradict the state change nothing.
		{Key: schemaKey("nope", 3)},
		{Key: schemaKey("a", 3), Value: &ConfigValue{}},
		{Key: Key{KeyType: "UNKNOWN"}, Value: &ModeValue{}},
	}
	for i, r := range recs {
		st.Apply(int64(i), r)
	}
	if st.Offset() != int64(len(recs)-1) || st.MaxID() != 7 {
		t.Fatalf("offset %d, max id %d", st.Offset(), st.MaxID())
	}
	if got := st.versions("a"); len(got) != 2 || got[0].SchemaType != format.Avro || got[1].SchemaType != format.JSON {
		t.Fatalf("a = %+v", got)
	}
	if got := st.versions("b"); len(got) != 1 || !got[0].Deleted {
		t.Fatalf("b = %+v", got)
	}
	if subjects, _ := st.subjectsForID(1); !reflect.DeepEqual(subjects, []string{":.c:x", "a"}) {
		t.Fatalf("subjects of id 1 = %v", subjects)
	}
	if ctxs := st.contextsOfID(1); !reflect.DeepEqual(ctxs, []string{".", ".c"}) {
		t.Fatalf("contexts of id 1 = %v", ctxs)
	}
	if c, _ := st.config(""); c.CompatibilityLevel != "FULL" {
		t.Fatalf("global config %+v", c)
	}
	if m, _ := st.mode("a"); m != "READONLY" {
		t.Fatalf("mode %q", m)
	}
	// CLEAR_SUBJECT removes the soft-deleted versions for good.
	st.Apply(20, Record{Key: Key{KeyType: KeyClearSubject, Subject: strp("b")}, Value: &ClearSubjectValue{Subject: "b"}})
	if got := st.versions("b"); got != nil {
		t.Fatalf("b after CLEAR_SUBJECT = %+v", got)
	}
	checkInvariants(t, st)
}

// checkInvariants recomputes the state's indexes from its subjects and compares.
func checkInvariants(t *testing.T, st *State) {
	t.Helper()
	st.mu.RLock()
	defer st.mu.RUnlock()
	live, ids := 0, 0
	uses := map[int]map[string]int{}
	subjectsByID := map[int][]string{}
	maxID := 0
	for name, ss := range st.subjects {
		if len(ss.versions) == 0 {
			t.Fatalf("subject %q kept without versions", name)
		}
		if ss.live() {
			live++
		}
		for i, v := range ss.versions {
			if i > 0 && ss.versions[i-1].Version >= v.Version {
				t.Fatalf("subject %q versions out of order", name)
			}
			maxID = max(maxID, v.ID)
			ctx := contextOf(name)
			if uses[v.ID] == nil {
				uses[v.ID] = map[string]int{}
			}
			if uses[v.ID][ctx] == 0 {
				ids++
			}
			uses[v.ID][ctx]++
			e := st.byID[v.ID][ctx]
			if e == nil || !slices.Contains(e.uses, v) {
				t.Fatalf("version %s/%d missing from id %d's entry", name, v.Version, v.ID)
			}
			if !v.Deleted && !slices.Contains(subjectsByID[v.ID], name) {
				subjectsByID[v.ID] = append(subjectsByID[v.ID], name)
			}
		}
	}
	for id, byCtx := range st.byID {
		for ctx, e := range byCtx {
			if len(e.uses) != uses[id][ctx] {
				t.Fatalf("id %d in %s: %d uses indexed, %d versions", id, ctx, len(e.uses), uses[id][ctx])
			}
		}
	}
	for id := range subjectsByID {
		slices.Sort(subjectsByID[id])
	}
	if !reflect.DeepEqual(subjectsByID, st.subjectsByID) && !(len(subjectsByID) == 0 && len(st.subjectsByID) == 0) {
		t.Fatalf("subjectsByID = %v, want %v", st.subjectsByID, subjectsByID)
	}
	if int(st.liveSubjects.Load()) != live || int(st.schemaIDs.Load()) != ids {
		t.Fatalf("gauges: %d live subjects, %d ids; want %d, %d", st.liveSubjects.Load(), st.schemaIDs.Load(), live, ids)
	}
	if st.maxID < maxID {
		t.Fatalf("max id %d below %d", st.maxID, maxID)
	}
}

// FuzzApply applies record sequences built from the input and checks that the state's indexes
// agree with its subjects after each record.
func FuzzApply(f *testing.F) {
	f.Add([]byte{0, 1, 1, 1, 0, 2, 1, 2, 3, 1, 1, 0, 4, 1, 0, 5, 1, 0, 1, 0, 1, 1})
	f.Add([]byte{0, 0, 0, 0, 0, 1, 0, 0, 3, 0, 2, 0, 2, 0, 1, 0})
	subjects := []string{"a", "b", ":.c:a", ":.c:b"}
	schemas := []string{`"int"`, `"string"`, `"long"`}
	f.Fuzz(func(t *testing.T, in []byte) {
		st := NewState()
		for i := 0; i+3 < len(in) && i < 400; i += 4 {
			op, subject := in[i]%7, subjects[int(in[i+1])%len(subjects)]
			version, n := int(in[i+2]%4)+1, int(in[i+3])
			var r Record
			switch op {
			case 0, 1:
				r = Record{Key: schemaKey(subject, version), Value: &SchemaValue{Subject: subject, Version: version,
					ID: n%5 + 1, Schema: schemas[n%len(schemas)], Deleted: op == 1,
					References: []format.Reference{{Name: "r", Subject: subjects[n%len(subjects)], Version: n%3 + 1}}[:n%2]}}
			case 2:
				r = Record{Key: schemaKey(subject, version)}
			case 3:
				r = Record{Key: otherKey(KeyDeleteSubject, subject), Value: &DeleteSubjectValue{Subject: subject, Version: version}}
			case 4:
				r = Record{Key: otherKey(KeyClearSubject, subject), Value: &ClearSubjectValue{Subject: subject}}
			case 5:
				r = Record{Key: otherKey(KeyConfig, subject), Value: &ConfigValue{CompatibilityLevel: "NONE"}}
			case 6:
				r = Record{Key: otherKey(KeyMode, subject)}
			}
			st.Apply(int64(i), r)
			checkInvariants(t, st)
		}
	})
}
