package broker

import "github.com/sluicehq/sluice/internal/api"

// schemaIDValidator is Env.SchemaIDs, which checks produced schema ids for topics with
// sluice.{key,value}.schema.id.validation on: nil when this node serves no schema registry
// (such records are refused, saying so); else a validator that asks the registry once
// startRegistry has set it (SetRegistry), refusing such records until then.
func schemaIDValidator(registryAddr string) *api.SchemaIDValidator {
	if registryAddr == "" {
		return nil
	}
	return api.NewSchemaIDValidator(nil)
}
