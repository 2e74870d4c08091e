package config

import "strings"

// Schema id validation (issue 16): Sluice's equivalents of Confluent Server's
// confluent.{key,value}.schema.validation and confluent.{key,value}.subject.name.strategy.
// With validation on, Produce refuses records whose key or value does not start with the
// magic byte 0 and a 4-byte schema id registered, in the built-in schema registry, under the
// subject the strategy names (internal/api/schema_ids.go).
const (
	SluiceKeySchemaIDValidation     Name = "sluice.key.schema.id.validation"
	SluiceValueSchemaIDValidation   Name = "sluice.value.schema.id.validation"
	SluiceKeySubjectNameStrategy    Name = "sluice.key.subject.name.strategy"
	SluiceValueSubjectNameStrategy  Name = "sluice.value.subject.name.strategy"
	confluentSubjectStrategyPackage      = "io.confluent.kafka.serializers.subject."
)

// The subject name strategies, as Confluent's serializers name them. The topic configs accept
// these names and Confluent's fully qualified class names
// (io.confluent.kafka.serializers.subject.TopicNameStrategy, ...).
const (
	TopicNameStrategy       = "TopicNameStrategy"       // subject <topic>-key or <topic>-value
	RecordNameStrategy      = "RecordNameStrategy"      // subject <record name>
	TopicRecordNameStrategy = "TopicRecordNameStrategy" // subject <topic>-<record name>
)

// SubjectNameStrategy returns the short name (TopicNameStrategy, RecordNameStrategy,
// TopicRecordNameStrategy) of a strategy config's value, which may be Confluent's class name.
func SubjectNameStrategy(value string) string {
	return strings.TrimPrefix(value, confluentSubjectStrategyPackage)
}

var subjectNameStrategies = OneOf(TopicNameStrategy, RecordNameStrategy, TopicRecordNameStrategy,
	confluentSubjectStrategyPackage+TopicNameStrategy, confluentSubjectStrategyPackage+RecordNameStrategy,
	confluentSubjectStrategyPackage+TopicRecordNameStrategy)

// schemaTopicRows are the schema id validation rows of topicTable.
var schemaTopicRows = []Def{
	{Name: SluiceKeySchemaIDValidation, Type: TypeBoolean, Default: "false",
		Doc: "Sluice only (Confluent Server's confluent.key.schema.validation). Produce refuses, with " +
			"INVALID_RECORD, records whose key is not null and does not start with the magic byte 0 and a " +
			"4-byte schema id registered in the built-in schema registry under the subject " +
			"sluice.key.subject.name.strategy names."},
	{Name: SluiceValueSchemaIDValidation, Type: TypeBoolean, Default: "false",
		Doc: "Sluice only (Confluent Server's confluent.value.schema.validation). Produce refuses, with " +
			"INVALID_RECORD, records whose value is not null and does not start with the magic byte 0 and a " +
			"4-byte schema id registered in the built-in schema registry under the subject " +
			"sluice.value.subject.name.strategy names."},
	{Name: SluiceKeySubjectNameStrategy, Type: TypeString, Default: TopicNameStrategy, Valid: subjectNameStrategies,
		Doc: "The subject a key's schema id must be registered under when sluice.key.schema.id.validation " +
			"is on: TopicNameStrategy, <topic>-key; TopicRecordNameStrategy, a subject <topic>-<record name>; " +
			"RecordNameStrategy, any subject. Confluent's class names are accepted too."},
	{Name: SluiceValueSubjectNameStrategy, Type: TypeString, Default: TopicNameStrategy, Valid: subjectNameStrategies,
		Doc: "The subject a value's schema id must be registered under when sluice.value.schema.id.validation " +
			"is on: TopicNameStrategy, <topic>-value; TopicRecordNameStrategy, a subject <topic>-<record name>; " +
			"RecordNameStrategy, any subject. Confluent's class names are accepted too."},
}
