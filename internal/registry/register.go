package registry

import (
	"context"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/internal/registry/format"
)

// register adds req's schema to subject as a new version unless the subject already holds it
// (then its id is returned and nothing is written, by any node and in any mode, as Confluent
// does). On a node that is not the writer it returns ErrNotWriter.
func (s *Service) register(ctx context.Context, subject string, req *schemaRequest, normalize bool) (int, error) {
	if err := checkSubject(subject); err != nil {
		return 0, err
	}
	if err := s.sync(ctx); err != nil {
		return 0, err
	}
	cfg := s.effectiveConfig(subject)
	p, err := s.parse(subject, req, normalize || (cfg.Normalize != nil && *cfg.Normalize))
	if err != nil {
		return 0, err
	}
	if view := s.state.view(subject, &p.value, false, false); view.matched && (req.ID <= 0 || req.ID == view.match.ID) {
		return view.match.ID, nil
	}

	done, err := s.beginWrite(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	mode := s.effectiveMode(subject)
	switch {
	case mode == ModeReadOnly || mode == ModeReadOnlyOverride:
		return 0, Errorf(42205, "Subject %s is in read-only mode", subject)
	case (req.ID > 0 || req.Version > 0) && mode != ModeImport:
		return 0, Errorf(42205, "Subject %s is not in import mode", subject)
	case req.ID <= 0 && req.Version <= 0 && mode != ModeReadWrite:
		return 0, Errorf(42205, "Subject %s is not in read-write mode", subject)
	}
	// The state may have moved while this node waited for the writer mutex.
	cfg = s.effectiveConfig(subject)
	transitive := strings.HasSuffix(cfg.CompatibilityLevel, "_TRANSITIVE")
	view := s.state.view(subject, &p.value, false, transitive)
	if view.matched {
		if req.ID > 0 && req.ID != view.match.ID {
			return 0, Errorf(42207, "Schema already registered with id %d instead of input id %d", view.match.ID, req.ID)
		}
		return view.match.ID, nil
	}

	sctx := contextOf(subject)
	content := contentKey(sctx, &p.value)
	id, known := s.state.idOf(content)
	switch {
	case req.ID > 0:
		if known && id != req.ID {
			return 0, Errorf(42207, "Schema already registered with id %d instead of input id %d", id, req.ID)
		}
		if uses, ok := s.state.schemaByID(sctx, req.ID); ok && contentKey(sctx, &uses[0]) != content {
			return 0, Errorf(42207, "Overwrite new schema with id %d is not permitted.", req.ID)
		}
		id = req.ID
	case !known:
		id = s.state.MaxID() + 1
	}

	if mode != ModeImport {
		if msgs := s.checkAgainst(cfg.CompatibilityLevel, p, view.previous); len(msgs) > 0 {
			return 0, Errorf(40901, "Schema being registered is incompatible with an earlier schema for subject \"%s\", details: [%s]",
				subject, strings.Join(msgs, ", "))
		}
	}

	next := view.next
	if req.Version > 0 && mode == ModeImport {
		if s.state.hasVersion(subject, req.Version) {
			return 0, Errorf(42205, "Version %d of subject %s already exists", req.Version, subject)
		}
		next = req.Version
	}

	var recs []Record
	// A soft-deleted version of the same schema is removed for good: the schema comes back
	// as the new version (as Confluent does).
	for _, v := range s.state.deletedWithID(subject, id) {
		if v < next {
			recs = append(recs, Record{Key: schemaKey(subject, v)})
		}
	}
	value := p.value
	value.Version, value.ID = next, id
	recs = append(recs, Record{Key: schemaKey(subject, next), Value: &value})
	if err := s.append(ctx, recs); err != nil {
		return 0, err
	}
	s.parseCache.put(contentKey(sctx, &value), p.schema)
	s.metrics.registered()
	return id, nil
}

func schemaKey(subject string, version int) Key {
	return Key{KeyType: KeySchema, Subject: &subject, Version: version, Magic: 1}
}

func otherKey(t KeyType, subject string) Key {
	k := Key{KeyType: t}
	if subject != "" {
		k.Subject = &subject
	}
	return k
}

// checkSubject refuses subject names Confluent refuses (42208).
func checkSubject(subject string) error {
	if subject == "" || strings.ContainsFunc(subject, func(r rune) bool { return r < 0x20 }) {
		return Errorf(42208, "Invalid subject %s", subject)
	}
	return nil
}

// lookup finds req's schema among subject's versions (POST /subjects/{subject}).
func (s *Service) lookup(ctx context.Context, subject string, req *schemaRequest, normalize, deleted bool) (SchemaValue, error) {
	if err := s.sync(ctx); err != nil {
		return SchemaValue{}, err
	}
	if view := s.state.view(subject, nil, false, false); !view.live && !(deleted && view.exists) {
		return SchemaValue{}, Errorf(40401, "Subject '%s' not found.", subject)
	}
	cfg := s.effectiveConfig(subject)
	norm := normalize || (cfg.Normalize != nil && *cfg.Normalize)
	p, err := s.parse(subject, req, norm)
	if err != nil {
		return SchemaValue{}, err
	}
	candidates := []string{p.value.Schema}
	if norm {
		candidates = append(candidates, p.schema.Canonical())
	} else {
		candidates = append(candidates, p.schema.Normalized())
	}
	for _, text := range candidates {
		want := p.value
		want.Schema = text
		if view := s.state.view(subject, &want, deleted, false); view.matched {
			return view.match, nil
		}
	}
	return SchemaValue{}, Errorf(40403, "Schema not found")
}

func hasVersions(versions []SchemaValue, deleted bool) bool {
	for _, v := range versions {
		if deleted || !v.Deleted {
			return true
		}
	}
	return false
}

// compatMessages checks p against subject's earlier versions under level: against the one
// given (version > 0), else the latest non-deleted one, or every non-deleted one for the
// transitive levels. It returns why p is incompatible, empty when it is compatible.
func (s *Service) compatMessages(level string, p *parsed, versions []SchemaValue, version int) []string {
	if level == CompatNone {
		return nil
	}
	var previous []SchemaValue
	for i := len(versions) - 1; i >= 0; i-- {
		v := versions[i]
		switch {
		case version > 0:
			if v.Version == version {
				previous = append(previous, v)
			}
		case !v.Deleted:
			previous = append(previous, v)
		}
	}
	if !strings.HasSuffix(level, "_TRANSITIVE") && len(previous) > 1 {
		previous = previous[:1]
	}
	return s.checkAgainst(level, p, previous)
}

// checkAgainst checks p against each of previous under level's direction.
func (s *Service) checkAgainst(level string, p *parsed, previous []SchemaValue) []string {
	if level == CompatNone {
		return nil
	}
	base := strings.TrimSuffix(level, "_TRANSITIVE")
	var out []string
	for i := range previous {
		prev := &previous[i]
		var msgs []string
		if prev.SchemaType != p.value.SchemaType {
			msgs = []string{fmt.Sprintf("Incompatible because of different schema type: %s and %s", p.value.SchemaType, prev.SchemaType)}
		} else if old, err := s.parseStored(prev); err != nil {
			s.logger.Warn("registry: a stored schema does not parse; skipped in the compatibility check",
				"subject", prev.Subject, "version", prev.Version, "err", err)
			continue
		} else {
			// Messages name the two schemas by role: "new" is the one being checked.
			if base == CompatBackward || base == CompatFull {
				for _, m := range p.schema.CanRead(old) {
					msgs = append(msgs, format.FillRoles(m, "new", "old"))
				}
			}
			if base == CompatForward || base == CompatFull {
				for _, m := range old.CanRead(p.schema) {
					msgs = append(msgs, format.FillRoles(m, "old", "new"))
				}
			}
		}
		if len(msgs) == 0 {
			continue
		}
		out = append(out, msgs...)
		out = append(out,
			fmt.Sprintf("{oldSchemaVersion: %d}", prev.Version),
			fmt.Sprintf("{oldSchema: '%s'}", prev.Schema),
			fmt.Sprintf("{compatibility: '%s'}", level))
	}
	return out
}

// checkCompatibility answers POST /compatibility/subjects/{subject}/versions[/{version}]:
// version 0 checks against what a registration would be checked against, -1 the latest.
func (s *Service) checkCompatibility(ctx context.Context, subject string, version int, req *schemaRequest, normalize bool) ([]string, error) {
	if err := s.sync(ctx); err != nil {
		return nil, err
	}
	versions := s.state.versions(subject)
	if version != 0 {
		if !hasVersions(versions, false) {
			return nil, Errorf(40401, "Subject '%s' not found.", subject)
		}
		v, ok := s.findVersion(subject, version, false)
		if !ok {
			return nil, Errorf(40402, "Version %d not found.", version)
		}
		version = v.Version
	}
	cfg := s.effectiveConfig(subject)
	p, err := s.parse(subject, req, normalize || (cfg.Normalize != nil && *cfg.Normalize))
	if err != nil {
		return nil, err
	}
	return s.compatMessages(cfg.CompatibilityLevel, p, versions, version), nil
}

// SubjectsForID returns the subjects (with their context prefix) holding a non-deleted version
// whose schema id is id, reading _schemas up to its end once when id is not known here yet.
// The slice is shared: callers must not modify it. Known ids cost a map lookup under a read
// lock and no allocation.
func (s *Service) SubjectsForID(ctx context.Context, id int) ([]string, error) {
	if subjects, ok := s.state.subjectsForID(id); ok {
		return subjects, nil
	}
	if err := s.sync(ctx); err != nil {
		return nil, err
	}
	subjects, _ := s.state.subjectsForID(id)
	return subjects, nil
}
