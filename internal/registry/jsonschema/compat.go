package jsonschema

import "github.com/sluicehq/sluice/internal/registry/format"

// CanRead says why data written with writer cannot be read with s.
//
// Not implemented yet (the compatibility rules land next): until then every pair is reported
// incompatible, so no check passes by mistake.
func (s *Schema) CanRead(writer format.Schema) []string {
	return []string{`{errorType:"COMPATIBILITY_NOT_IMPLEMENTED", description:"JSON Schema compatibility checks are not implemented yet"}`}
}
