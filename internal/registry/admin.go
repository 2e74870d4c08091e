package registry

import (
	"context"
	"slices"
)

// Deletes, configs and modes: the writes besides registration. Each runs under the writer
// mutex (beginWrite) and returns ErrNotWriter on another node.

func referenceExists(subject string, version int) error {
	return Errorf(42206, "One or more references exist to the schema {magic=1,keytype=SCHEMA,subject=%s,version=%d}.", subject, version)
}

// checkReferrers refuses to delete subject/version while a version references it: any
// version for a permanent delete, a non-deleted one for a soft delete. Referrers in skip (the
// subject being deleted itself) do not count.
func (s *Service) checkReferrers(subject string, version int, permanent bool, skip string) error {
	for _, r := range s.state.referrersOf(subject, version) {
		if r.Subject == skip {
			continue
		}
		if permanent || !r.Deleted {
			return referenceExists(subject, version)
		}
	}
	return nil
}

// deleteVersion soft-deletes (or, once soft-deleted, permanently deletes) one version; version
// -1 is the latest.
func (s *Service) deleteVersion(ctx context.Context, subject string, version int, permanent bool) (int, error) {
	done, err := s.beginWrite(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	if err := s.checkWritable(subject); err != nil {
		return 0, err
	}
	versions := s.state.versions(subject)
	if !hasVersions(versions, true) {
		return 0, Errorf(40401, "Subject '%s' not found.", subject)
	}
	v, ok := s.findVersion(subject, version, permanent || version != -1)
	if !ok && version == -1 {
		v, ok = s.findVersion(subject, version, true)
	}
	if !ok {
		return 0, Errorf(40402, "Version %d not found.", version)
	}
	switch {
	case permanent && !v.Deleted:
		return 0, Errorf(40407, "Subject '%s' Version %d was not deleted first before being permanently deleted", subject, v.Version)
	case !permanent && v.Deleted:
		return 0, Errorf(40406, "Subject '%s' Version %d was soft deleted.Set permanent=true to delete permanently", subject, v.Version)
	}
	if err := s.checkReferrers(subject, v.Version, permanent, ""); err != nil {
		return 0, err
	}
	recs := []Record{{Key: schemaKey(subject, v.Version)}}
	if !permanent {
		c := v
		c.Deleted = true
		recs[0].Value = &c
		// The subject's last live version: its config and mode go too (as Confluent does).
		live := 0
		for _, o := range versions {
			if !o.Deleted {
				live++
			}
		}
		if live == 1 {
			recs = append(recs, s.subjectSettingTombstones(subject)...)
		}
	}
	if err := s.append(ctx, recs); err != nil {
		return 0, err
	}
	return v.Version, nil
}

// deleteSubject soft-deletes every version of subject (and removes its config and mode), or,
// once they are all soft-deleted, deletes them permanently. It returns the versions deleted.
func (s *Service) deleteSubject(ctx context.Context, subject string, permanent bool) ([]int, error) {
	done, err := s.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	if err := s.checkWritable(subject); err != nil {
		return nil, err
	}
	versions := s.state.versions(subject)
	switch {
	case !hasVersions(versions, true):
		return nil, Errorf(40401, "Subject '%s' not found.", subject)
	case !permanent && !hasVersions(versions, false):
		return nil, Errorf(40404, "Subject '%s' was soft deleted.Set permanent=true to delete permanently", subject)
	case permanent && hasVersions(versions, false):
		return nil, Errorf(40405, "Subject '%s' was not deleted first before being permanently deleted", subject)
	}
	deleted := []int{}
	var recs []Record
	for _, v := range versions {
		if !permanent && v.Deleted {
			continue
		}
		if err := s.checkReferrers(subject, v.Version, permanent, subject); err != nil {
			return nil, err
		}
		deleted = append(deleted, v.Version)
		if permanent {
			recs = append(recs, Record{Key: schemaKey(subject, v.Version)})
		}
	}
	if !permanent {
		recs = append(recs, Record{Key: otherKey(KeyDeleteSubject, subject),
			Value: &DeleteSubjectValue{Subject: subject, Version: slices.Max(deleted)}})
		recs = append(recs, s.subjectSettingTombstones(subject)...)
	}
	if err := s.append(ctx, recs); err != nil {
		return nil, err
	}
	return deleted, nil
}

// configRequest is the body of PUT /config[/{subject}]. Confluent names the level
// "compatibility" here (and "compatibilityLevel" in answers and in the log); both are read.
type configRequest struct {
	Compatibility      string         `json:"compatibility,omitempty"`
	CompatibilityLevel string         `json:"compatibilityLevel,omitempty"`
	Alias              *string        `json:"alias,omitempty"`
	Normalize          *bool          `json:"normalize,omitempty"`
	CompatibilityGroup *string        `json:"compatibilityGroup,omitempty"`
	DefaultMetadata    map[string]any `json:"defaultMetadata,omitempty"`
	OverrideMetadata   map[string]any `json:"overrideMetadata,omitempty"`
	DefaultRuleSet     map[string]any `json:"defaultRuleSet,omitempty"`
	OverrideRuleSet    map[string]any `json:"overrideRuleSet,omitempty"`
}

func invalidCompatibility() error {
	return Errorf(42203, "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")
}

// getConfig answers GET /config (subject "") and GET /config/{subject}.
func (s *Service) getConfig(ctx context.Context, subject string, defaultToGlobal bool) (ConfigValue, error) {
	if err := s.sync(ctx); err != nil {
		return ConfigValue{}, err
	}
	if subject == "" {
		c, ok := s.state.config("")
		if !ok || c.CompatibilityLevel == "" {
			c.CompatibilityLevel = DefaultCompatibility
		}
		return c, nil
	}
	if c, ok := s.state.config(subject); ok {
		return c, nil
	}
	if defaultToGlobal {
		return s.effectiveConfig(subject), nil
	}
	return ConfigValue{}, Errorf(40408, "Subject '%s' does not have subject-level compatibility configured", subject)
}

// putConfig answers PUT /config[/{subject}]: the fields given replace those set before.
func (s *Service) putConfig(ctx context.Context, subject string, req *configRequest) (*configRequest, error) {
	level := req.Compatibility
	if level == "" {
		level = req.CompatibilityLevel
	}
	if level != "" {
		l, ok := validLevel(level)
		if !ok {
			return nil, invalidCompatibility()
		}
		level = l
	} else if req.Normalize == nil && req.Alias == nil && req.CompatibilityGroup == nil &&
		req.DefaultMetadata == nil && req.OverrideMetadata == nil && req.DefaultRuleSet == nil && req.OverrideRuleSet == nil {
		return nil, invalidCompatibility()
	}
	if subject != "" {
		if err := checkSubject(subject); err != nil {
			return nil, err
		}
	}
	done, err := s.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	if err := s.checkWritable(subject); err != nil {
		return nil, err
	}
	c, _ := s.state.config(subject)
	if level != "" {
		c.CompatibilityLevel = level
	}
	if req.Normalize != nil {
		c.Normalize = req.Normalize
	}
	if req.Alias != nil {
		c.Alias = *req.Alias
	}
	if req.CompatibilityGroup != nil {
		c.CompatibilityGroup = *req.CompatibilityGroup
	}
	if req.DefaultMetadata != nil {
		c.DefaultMetadata = req.DefaultMetadata
	}
	if req.OverrideMetadata != nil {
		c.OverrideMetadata = req.OverrideMetadata
	}
	if req.DefaultRuleSet != nil {
		c.DefaultRuleSet = req.DefaultRuleSet
	}
	if req.OverrideRuleSet != nil {
		c.OverrideRuleSet = req.OverrideRuleSet
	}
	if err := s.append(ctx, []Record{{Key: otherKey(KeyConfig, subject), Value: &c}}); err != nil {
		return nil, err
	}
	out := *req
	out.Compatibility, out.CompatibilityLevel = level, ""
	return &out, nil
}

// deleteConfig answers DELETE /config[/{subject}] with the config it removed.
func (s *Service) deleteConfig(ctx context.Context, subject string) (ConfigValue, error) {
	done, err := s.beginWrite(ctx)
	if err != nil {
		return ConfigValue{}, err
	}
	defer done()
	if err := s.checkWritable(subject); err != nil {
		return ConfigValue{}, err
	}
	c, ok := s.state.config(subject)
	if !ok {
		if subject != "" {
			return ConfigValue{}, Errorf(40401, "Subject '%s' not found.", subject)
		}
		return ConfigValue{CompatibilityLevel: DefaultCompatibility}, nil
	}
	if err := s.append(ctx, []Record{{Key: otherKey(KeyConfig, subject)}}); err != nil {
		return ConfigValue{}, err
	}
	return c, nil
}

// getMode answers GET /mode and GET /mode/{subject}.
func (s *Service) getMode(ctx context.Context, subject string, defaultToGlobal bool) (string, error) {
	if err := s.sync(ctx); err != nil {
		return "", err
	}
	if subject == "" {
		if m, ok := s.state.mode(""); ok {
			return m, nil
		}
		return ModeReadWrite, nil
	}
	if m, ok := s.state.mode(subject); ok {
		return m, nil
	}
	if defaultToGlobal {
		return s.effectiveMode(subject), nil
	}
	return "", Errorf(40409, "Subject '%s' does not have subject-level mode configured", subject)
}

// putMode answers PUT /mode[/{subject}]. Modes can be changed in every mode (that is how a
// registry leaves READONLY). IMPORT is refused while the subject (or, globally, any subject)
// has versions, unless force.
func (s *Service) putMode(ctx context.Context, subject, mode string, force bool) (string, error) {
	m, ok := validMode(mode)
	if !ok {
		return "", Errorf(42204, "Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE, and IMPORT.")
	}
	if subject != "" {
		if err := checkSubject(subject); err != nil {
			return "", err
		}
	}
	done, err := s.beginWrite(ctx)
	if err != nil {
		return "", err
	}
	defer done()
	if m == ModeImport && !force {
		if subject == "" {
			for _, live := range s.state.subjectNames() {
				if live {
					return "", Errorf(42205, "Cannot import since found existing subjects")
				}
			}
		} else if hasVersions(s.state.versions(subject), false) {
			return "", Errorf(42205, "Cannot import since found existing subjects")
		}
	}
	if err := s.append(ctx, []Record{{Key: otherKey(KeyMode, subject), Value: &ModeValue{Mode: m}}}); err != nil {
		return "", err
	}
	return m, nil
}

// deleteMode answers DELETE /mode/{subject} with the mode it removed.
func (s *Service) deleteMode(ctx context.Context, subject string) (string, error) {
	done, err := s.beginWrite(ctx)
	if err != nil {
		return "", err
	}
	defer done()
	m, ok := s.state.mode(subject)
	if !ok {
		return "", Errorf(40401, "Subject '%s' not found.", subject)
	}
	if err := s.append(ctx, []Record{{Key: otherKey(KeyMode, subject)}}); err != nil {
		return "", err
	}
	return m, nil
}

// subjectSettingTombstones removes subject's own config and mode, where set.
func (s *Service) subjectSettingTombstones(subject string) []Record {
	var recs []Record
	if _, ok := s.state.config(subject); ok {
		recs = append(recs, Record{Key: otherKey(KeyConfig, subject)})
	}
	if _, ok := s.state.mode(subject); ok {
		recs = append(recs, Record{Key: otherKey(KeyMode, subject)})
	}
	return recs
}
