package protobuf

// builtinImports are the files Confluent's registry resolves without a reference besides
// Google's well-known types (which protocompile supplies): the schema metadata options
// (confluent/meta.proto), Confluent's logical types (confluent/type/*.proto) and Google's
// common types (google/type/*.proto). Written here from their documented declarations: the
// package, message, field, enum and extension names and numbers must match the originals so
// that schemas using them mean the same thing; comments and file options other than those
// that name the package for other languages are left out.
var builtinImports = map[string]string{
	"confluent/meta.proto": `syntax = "proto3";
package confluent;

import "google/protobuf/descriptor.proto";

option java_package = "io.confluent.protobuf";
option java_outer_classname = "MetaProto";

// Meta annotates a file, message, field, enum or enum value with documentation,
// parameters and tags.
message Meta {
  string doc = 1;
  map<string, string> params = 2;
  repeated string tags = 3;
  repeated Rule rules = 4;
}

// Rule is a data quality or transformation rule attached to an element.
message Rule {
  string name = 1;
  string doc = 2;
  string expr = 3;
  string sql = 4;
}

extend google.protobuf.FileOptions {
  Meta file_meta = 1088;
}
extend google.protobuf.MessageOptions {
  Meta message_meta = 1088;
}
extend google.protobuf.FieldOptions {
  Meta field_meta = 1088;
}
extend google.protobuf.EnumOptions {
  Meta enum_meta = 1088;
}
extend google.protobuf.EnumValueOptions {
  Meta enum_value_meta = 1088;
}
`,
	"confluent/type/decimal.proto": `syntax = "proto3";
package confluent.type;

option java_package = "io.confluent.protobuf.type";
option java_multiple_files = true;
option java_outer_classname = "DecimalProto";

// Decimal is an arbitrary-precision decimal: value is the unscaled integer in two's
// complement, big-endian; precision 0 means unlimited.
message Decimal {
  bytes value = 1;
  uint32 precision = 2;
  int32 scale = 3;
}
`,
	"confluent/type/variant.proto": `syntax = "proto3";
package confluent.type;

option java_package = "io.confluent.protobuf.type";
option java_multiple_files = true;
option java_outer_classname = "VariantProto";

// Variant is a semi-structured value in the variant encoding: metadata and value bytes.
message Variant {
  bytes metadata = 1;
  bytes value = 2;
}
`,
	"google/type/calendar_period.proto": googleType("calendar_period", "CalendarPeriodProto", "",
		`enum CalendarPeriod {
  CALENDAR_PERIOD_UNSPECIFIED = 0;
  DAY = 1;
  WEEK = 2;
  FORTNIGHT = 3;
  MONTH = 4;
  QUARTER = 5;
  HALF = 6;
  YEAR = 7;
}`),
	"google/type/color.proto": googleType("color", "ColorProto", `import "google/protobuf/wrappers.proto";`,
		`message Color {
  float red = 1;
  float green = 2;
  float blue = 3;
  google.protobuf.FloatValue alpha = 4;
}`),
	"google/type/date.proto": googleType("date", "DateProto", "",
		`message Date {
  int32 year = 1;
  int32 month = 2;
  int32 day = 3;
}`),
	"google/type/datetime.proto": googleType("datetime", "DateTimeProto", `import "google/protobuf/duration.proto";`,
		`message DateTime {
  int32 year = 1;
  int32 month = 2;
  int32 day = 3;
  int32 hours = 4;
  int32 minutes = 5;
  int32 seconds = 6;
  int32 nanos = 7;
  oneof time_offset {
    google.protobuf.Duration utc_offset = 8;
    TimeZone time_zone = 9;
  }
}
message TimeZone {
  string id = 1;
  string version = 2;
}`),
	"google/type/dayofweek.proto": googleType("dayofweek", "DayOfWeekProto", "",
		`enum DayOfWeek {
  DAY_OF_WEEK_UNSPECIFIED = 0;
  MONDAY = 1;
  TUESDAY = 2;
  WEDNESDAY = 3;
  THURSDAY = 4;
  FRIDAY = 5;
  SATURDAY = 6;
  SUNDAY = 7;
}`),
	"google/type/decimal.proto": googleType("decimal", "DecimalProto", "",
		`message Decimal {
  string value = 1;
}`),
	"google/type/expr.proto": googleType("expr", "ExprProto", "",
		`message Expr {
  string expression = 1;
  string title = 2;
  string description = 3;
  string location = 4;
}`),
	"google/type/fraction.proto": googleType("fraction", "FractionProto", "",
		`message Fraction {
  int64 numerator = 1;
  int64 denominator = 2;
}`),
	"google/type/interval.proto": googleType("interval", "IntervalProto", `import "google/protobuf/timestamp.proto";`,
		`message Interval {
  google.protobuf.Timestamp start_time = 1;
  google.protobuf.Timestamp end_time = 2;
}`),
	"google/type/latlng.proto": googleType("latlng", "LatLngProto", "",
		`message LatLng {
  double latitude = 1;
  double longitude = 2;
}`),
	"google/type/money.proto": googleType("money", "MoneyProto", "",
		`message Money {
  string currency_code = 1;
  int64 units = 2;
  int32 nanos = 3;
}`),
	"google/type/month.proto": googleType("month", "MonthProto", "",
		`enum Month {
  MONTH_UNSPECIFIED = 0;
  JANUARY = 1;
  FEBRUARY = 2;
  MARCH = 3;
  APRIL = 4;
  MAY = 5;
  JUNE = 6;
  JULY = 7;
  AUGUST = 8;
  SEPTEMBER = 9;
  OCTOBER = 10;
  NOVEMBER = 11;
  DECEMBER = 12;
}`),
	"google/type/phone_number.proto": googleType("phone_number", "PhoneNumberProto", "",
		`message PhoneNumber {
  message ShortCode {
    string region_code = 1;
    string number = 2;
  }
  oneof kind {
    string e164_number = 1;
    ShortCode short_code = 2;
  }
  string extension = 3;
}`),
	"google/type/postal_address.proto": googleType("postal_address", "PostalAddressProto", "",
		`message PostalAddress {
  int32 revision = 1;
  string region_code = 2;
  string language_code = 3;
  string postal_code = 4;
  string sorting_code = 5;
  string administrative_area = 6;
  string locality = 7;
  string sublocality = 8;
  repeated string address_lines = 9;
  repeated string recipients = 10;
  string organization = 11;
}`),
	"google/type/quaternion.proto": googleType("quaternion", "QuaternionProto", "",
		`message Quaternion {
  double x = 1;
  double y = 2;
  double z = 3;
  double w = 4;
}`),
	"google/type/timeofday.proto": googleType("timeofday", "TimeOfDayProto", "",
		`message TimeOfDay {
  int32 hours = 1;
  int32 minutes = 2;
  int32 seconds = 3;
  int32 nanos = 4;
}`),
}

// googleType writes one google/type file: package google.type with its Go and Java packages.
func googleType(goPackage, javaOuterClass, imports, body string) string {
	if imports != "" {
		imports += "\n\n"
	}
	return `syntax = "proto3";
package google.type;

` + imports + `option go_package = "google.golang.org/genproto/googleapis/type/` + goPackage + `;` + goPackage + `";
option java_multiple_files = true;
option java_outer_classname = "` + javaOuterClass + `";
option java_package = "com.google.type";

` + body + "\n"
}
