package registry

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sluicehq/sluice/internal/registry/format"
)

// State is the registry's state: everything _schemas says, applied record by record in log
// order. It implements Applier. Apply runs on the store's goroutine while HTTP handlers read:
// every field below is guarded by mu (Apply holds it for writing, readers for reading, nobody
// across I/O). Readers copy what they return out of the lock; the *SchemaValue pointers the
// maps hold are replaced or mutated only under the write lock.
type State struct {
	mu sync.RWMutex
	// subjects maps a full subject name (with its context prefix) to its versions, including
	// soft-deleted ones, in version order.
	subjects map[string]*subjectState
	// byID maps (context, id) to the versions holding that id (all of them have the same
	// schema, type, references, metadata and ruleSet).
	byID map[int]map[string]*idEntry
	// byContent maps "the same schema" (context, type, references, metadata, ruleSet, text) to
	// its id in that context.
	byContent map[string]int
	// referrers maps a subject version to the versions whose references name it.
	referrers map[versionRef]map[versionRef]struct{}
	// configs and modes map a subject, a context (":.ctx:") or "" (global) to its setting.
	configs map[string]ConfigValue
	modes   map[string]string
	// maxID is the highest id any record ever carried here: new ids are maxID+1, so an id is
	// never given to two schemas (ids are global across contexts for what this registry writes).
	maxID int
	// offset is the _schemas offset of the last record applied (-1 before any).
	offset int64
	// subjectsByID caches, per id across contexts, the subjects holding a non-deleted version
	// with it (what Produce validation asks); replaced, never mutated, when the id's versions
	// change.
	subjectsByID map[int][]string

	// liveSubjects and schemaIDs are counts for the metrics gauges (subjects with a non-deleted
	// version; distinct (context, id) pairs held by some version).
	liveSubjects, schemaIDs atomic.Int64
}

type subjectState struct {
	versions []*SchemaValue // ascending by Version
}

type versionRef struct {
	subject string
	version int
}

type idEntry struct {
	content string // the byContent key of this id's schema
	uses    []*SchemaValue
}

// NewState returns an empty state.
func NewState() *State {
	return &State{
		subjects:     map[string]*subjectState{},
		byID:         map[int]map[string]*idEntry{},
		byContent:    map[string]int{},
		referrers:    map[versionRef]map[versionRef]struct{}{},
		configs:      map[string]ConfigValue{},
		modes:        map[string]string{},
		subjectsByID: map[int][]string{},
		offset:       -1,
	}
}

// Offset is the offset of the last record applied, -1 before the first.
func (s *State) Offset() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.offset
}

// MaxID is the highest schema id seen in _schemas, 0 before any.
func (s *State) MaxID() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.maxID
}

// Apply implements Applier. Records that contradict the state (a tombstone for a version that
// does not exist, a value of the wrong type) change nothing.
func (s *State) Apply(offset int64, r Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset = offset
	subject := ""
	if r.Key.Subject != nil {
		subject = *r.Key.Subject
	}
	switch r.Key.KeyType {
	case KeySchema:
		if r.Value == nil {
			s.removeVersionLocked(subject, r.Key.Version)
			return
		}
		if v, ok := r.Value.(*SchemaValue); ok && v != nil {
			c := *v
			if c.Subject == "" {
				c.Subject = subject
			}
			if c.Version == 0 {
				c.Version = r.Key.Version
			}
			if c.Subject == "" || c.Version <= 0 || c.ID < 0 {
				return
			}
			s.putVersionLocked(&c)
		}
	case KeyConfig:
		if r.Value == nil {
			delete(s.configs, subject)
		} else if v, ok := r.Value.(*ConfigValue); ok && v != nil {
			s.configs[subject] = *v
		}
	case KeyMode:
		if r.Value == nil {
			delete(s.modes, subject)
		} else if v, ok := r.Value.(*ModeValue); ok && v != nil {
			s.modes[subject] = v.Mode
		}
	case KeyDeleteSubject:
		if v, ok := r.Value.(*DeleteSubjectValue); ok && v != nil {
			name := v.Subject
			if name == "" {
				name = subject
			}
			s.softDeleteSubjectLocked(name, v.Version)
		}
	case KeyClearSubject:
		if v, ok := r.Value.(*ClearSubjectValue); ok && v != nil {
			name := v.Subject
			if name == "" {
				name = subject
			}
			s.clearSubjectLocked(name)
		}
	}
}

func (s *State) putVersionLocked(v *SchemaValue) {
	if v.SchemaType == "" {
		v.SchemaType = format.Avro
	}
	ss := s.subjects[v.Subject]
	if ss == nil {
		ss = &subjectState{}
		s.subjects[v.Subject] = ss
	}
	wasLive := ss.live()
	i, found := slices.BinarySearchFunc(ss.versions, v.Version, func(e *SchemaValue, t int) int { return e.Version - t })
	if found {
		old := ss.versions[i]
		ss.versions[i] = v
		s.unlinkLocked(old)
	} else {
		ss.versions = slices.Insert(ss.versions, i, v)
	}
	s.linkLocked(v)
	s.countSubjectLocked(wasLive, ss.live())
}

func (s *State) removeVersionLocked(subject string, version int) {
	ss := s.subjects[subject]
	if ss == nil {
		return
	}
	i, found := slices.BinarySearchFunc(ss.versions, version, func(e *SchemaValue, t int) int { return e.Version - t })
	if !found {
		return
	}
	wasLive := ss.live()
	old := ss.versions[i]
	ss.versions = slices.Delete(ss.versions, i, i+1)
	s.unlinkLocked(old)
	if len(ss.versions) == 0 {
		delete(s.subjects, subject)
	}
	s.countSubjectLocked(wasLive, ss.live())
}

func (s *State) softDeleteSubjectLocked(subject string, upTo int) {
	ss := s.subjects[subject]
	if ss == nil {
		return
	}
	wasLive := ss.live()
	for i, v := range ss.versions {
		if v.Version <= upTo && !v.Deleted {
			c := *v
			c.Deleted = true
			ss.versions[i] = &c
			s.replaceUseLocked(v, &c)
		}
	}
	s.countSubjectLocked(wasLive, ss.live())
}

func (s *State) clearSubjectLocked(subject string) {
	ss := s.subjects[subject]
	if ss == nil {
		return
	}
	for _, v := range slices.Clone(ss.versions) {
		if v.Deleted {
			s.removeVersionLocked(subject, v.Version)
		}
	}
}

// linkLocked indexes v by id, content and references.
func (s *State) linkLocked(v *SchemaValue) {
	ctx := contextOf(v.Subject)
	if v.ID > s.maxID {
		s.maxID = v.ID
	}
	byCtx := s.byID[v.ID]
	if byCtx == nil {
		byCtx = map[string]*idEntry{}
		s.byID[v.ID] = byCtx
	}
	e := byCtx[ctx]
	if e == nil {
		e = &idEntry{content: contentKey(ctx, v)}
		byCtx[ctx] = e
		s.schemaIDs.Add(1)
		if _, ok := s.byContent[e.content]; !ok {
			s.byContent[e.content] = v.ID
		}
	}
	e.uses = append(e.uses, v)
	from := versionRef{v.Subject, v.Version}
	for _, ref := range v.References {
		to := versionRef{qualify(ctx, ref.Subject), ref.Version}
		m := s.referrers[to]
		if m == nil {
			m = map[versionRef]struct{}{}
			s.referrers[to] = m
		}
		m[from] = struct{}{}
	}
	s.refreshSubjectsByIDLocked(v.ID)
}

// unlinkLocked removes what linkLocked added for v.
func (s *State) unlinkLocked(v *SchemaValue) {
	ctx := contextOf(v.Subject)
	if e := s.byID[v.ID][ctx]; e != nil {
		e.uses = slices.DeleteFunc(e.uses, func(u *SchemaValue) bool { return u == v })
		if len(e.uses) == 0 {
			delete(s.byID[v.ID], ctx)
			if len(s.byID[v.ID]) == 0 {
				delete(s.byID, v.ID)
			}
			s.schemaIDs.Add(-1)
			if s.byContent[e.content] == v.ID {
				delete(s.byContent, e.content)
			}
		}
	}
	from := versionRef{v.Subject, v.Version}
	for _, ref := range v.References {
		to := versionRef{qualify(ctx, ref.Subject), ref.Version}
		if m := s.referrers[to]; m != nil {
			delete(m, from)
			if len(m) == 0 {
				delete(s.referrers, to)
			}
		}
	}
	s.refreshSubjectsByIDLocked(v.ID)
}

// replaceUseLocked swaps old for its soft-deleted copy c in old's id entry.
func (s *State) replaceUseLocked(old, c *SchemaValue) {
	if e := s.byID[old.ID][contextOf(old.Subject)]; e != nil {
		for i, u := range e.uses {
			if u == old {
				e.uses[i] = c
			}
		}
	}
	s.refreshSubjectsByIDLocked(old.ID)
}

func (s *State) refreshSubjectsByIDLocked(id int) {
	var subjects []string
	for _, e := range s.byID[id] {
		for _, u := range e.uses {
			if !u.Deleted && !slices.Contains(subjects, u.Subject) {
				subjects = append(subjects, u.Subject)
			}
		}
	}
	if len(subjects) == 0 {
		delete(s.subjectsByID, id)
		return
	}
	slices.Sort(subjects)
	s.subjectsByID[id] = subjects
}

func (s *State) countSubjectLocked(wasLive, isLive bool) {
	switch {
	case wasLive && !isLive:
		s.liveSubjects.Add(-1)
	case !wasLive && isLive:
		s.liveSubjects.Add(1)
	}
}

// live reports whether a subject has a non-deleted version.
func (ss *subjectState) live() bool {
	if ss == nil {
		return false
	}
	for _, v := range ss.versions {
		if !v.Deleted {
			return true
		}
	}
	return false
}

// contentKey identifies "the same schema" in a context: the same type, references, metadata,
// ruleSet and stored text.
func contentKey(ctx string, v *SchemaValue) string {
	var b strings.Builder
	b.WriteString(ctx)
	b.WriteByte(0)
	t := v.SchemaType
	if t == "" {
		t = format.Avro
	}
	b.WriteString(string(t))
	b.WriteByte(0)
	for _, r := range v.References {
		b.WriteString(r.Name)
		b.WriteByte(1)
		b.WriteString(qualify(ctx, r.Subject))
		b.WriteByte(1)
		b.WriteString(strconv.Itoa(r.Version))
		b.WriteByte(2)
	}
	b.WriteByte(0)
	if len(v.Metadata) > 0 {
		m, _ := json.Marshal(v.Metadata) // map keys sorted: a stable form
		b.Write(m)
	}
	b.WriteByte(0)
	if len(v.RuleSet) > 0 {
		m, _ := json.Marshal(v.RuleSet)
		b.Write(m)
	}
	b.WriteByte(0)
	b.WriteString(v.Schema)
	return b.String()
}

// The read side. Each method takes the read lock and returns copies.

// versions returns a subject's versions (soft-deleted ones too), ascending.
func (s *State) versions(subject string) []SchemaValue {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ss := s.subjects[subject]
	if ss == nil {
		return nil
	}
	out := make([]SchemaValue, len(ss.versions))
	for i, v := range ss.versions {
		out[i] = *v
	}
	return out
}

// subjectNames returns every subject with at least one version (soft-deleted ones too), each
// with whether it has a non-deleted version.
func (s *State) subjectNames() map[string]bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]bool, len(s.subjects))
	for name, ss := range s.subjects {
		out[name] = ss.live()
	}
	return out
}

// allVersions returns every version of every subject.
func (s *State) allVersions() []SchemaValue {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []SchemaValue
	for _, ss := range s.subjects {
		for _, v := range ss.versions {
			out = append(out, *v)
		}
	}
	return out
}

// schemaByID returns a version holding id in ctx, and every version holding it.
func (s *State) schemaByID(ctx string, id int) ([]SchemaValue, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.byID[id][ctx]
	if e == nil {
		return nil, false
	}
	out := make([]SchemaValue, len(e.uses))
	for i, u := range e.uses {
		out[i] = *u
	}
	return out, true
}

// contextsOfID returns the contexts in which id is held, sorted.
func (s *State) contextsOfID(id int) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for ctx := range s.byID[id] {
		out = append(out, ctx)
	}
	slices.Sort(out)
	return out
}

// idOf returns the id "the same schema" has in its context.
func (s *State) idOf(content string) (int, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.byContent[content]
	return id, ok
}

// referrersOf returns the versions referencing subject/version.
func (s *State) referrersOf(subject string, version int) []SchemaValue {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []SchemaValue
	for ref := range s.referrers[versionRef{subject, version}] {
		if ss := s.subjects[ref.subject]; ss != nil {
			for _, v := range ss.versions {
				if v.Version == ref.version {
					out = append(out, *v)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b SchemaValue) int { return a.ID - b.ID })
	return out
}

// config returns the config set for key (a subject, a context prefix or "" for global).
func (s *State) config(key string) (ConfigValue, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.configs[key]
	return c, ok
}

// mode returns the mode set for key.
func (s *State) mode(key string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.modes[key]
	return m, ok
}

// contexts returns every context holding a subject, sorted, the default context always first.
func (s *State) contexts() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	seen := map[string]bool{}
	for name := range s.subjects {
		if ctx := contextOf(name); ctx != DefaultContext {
			seen[ctx] = true
		}
	}
	out := make([]string, 0, len(seen)+1)
	for ctx := range seen {
		out = append(out, ctx)
	}
	slices.Sort(out)
	return append([]string{DefaultContext}, out...)
}

// subjectsForID returns the cached subjects holding id (nil when none); the slice is shared and
// must not be modified.
func (s *State) subjectsForID(id int) ([]string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	subjects, ok := s.subjectsByID[id]
	return subjects, ok
}

// subjectView is what a registration needs to know about a subject, gathered in one pass
// under the read lock without copying every version.
type subjectView struct {
	exists   bool          // the subject has a version, deleted or not
	live     bool          // ... a version that is not deleted
	match    SchemaValue   // the latest version that sameSchema matches (live unless deleted)
	matched  bool          //
	next     int           // the next version number (highest so far + 1)
	previous []SchemaValue // live versions, latest first: only the latest unless all
}

// view returns subject's view for want (deleted: soft-deleted versions may match; all: every
// live version in previous).
func (s *State) view(subject string, want *SchemaValue, deleted, all bool) subjectView {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := subjectView{next: 1}
	ss := s.subjects[subject]
	if ss == nil || len(ss.versions) == 0 {
		return out
	}
	out.exists = true
	out.next = ss.versions[len(ss.versions)-1].Version + 1
	for i := len(ss.versions) - 1; i >= 0; i-- {
		v := ss.versions[i]
		if !v.Deleted {
			out.live = true
			if all || len(out.previous) == 0 {
				out.previous = append(out.previous, *v)
			}
		}
		if want != nil && !out.matched && (deleted || !v.Deleted) && sameSchema(v, want) {
			out.match, out.matched = *v, true
		}
		if out.matched && out.live && !all {
			break
		}
	}
	return out
}

// deletedWithID returns the soft-deleted versions of subject whose id is id.
func (s *State) deletedWithID(subject string, id int) []int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []int
	if e := s.byID[id][contextOf(subject)]; e != nil {
		for _, u := range e.uses {
			if u.Subject == subject && u.Deleted {
				out = append(out, u.Version)
			}
		}
	}
	return out
}

// hasVersion reports whether subject has version (deleted or not).
func (s *State) hasVersion(subject string, version int) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ss := s.subjects[subject]
	if ss == nil {
		return false
	}
	_, found := slices.BinarySearchFunc(ss.versions, version, func(e *SchemaValue, t int) int { return e.Version - t })
	return found
}
