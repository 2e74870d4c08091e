package postgres

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/connect/data"
)

// Type OIDs of the PostgreSQL types mapped to Connect types (others travel as strings).
const (
	oidBool        = 16
	oidBytea       = 17
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidOID         = 26
	oidJSON        = 114
	oidFloat4      = 700
	oidFloat8      = 701
	oidBPChar      = 1042
	oidVarchar     = 1043
	oidDate        = 1082
	oidTime        = 1083
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidNumeric     = 1700
	oidUUID        = 2950
	oidJSONB       = 3802
)

// Debezium's semantic type names.
const (
	debeziumDate           = "io.debezium.time.Date"
	debeziumMicroTime      = "io.debezium.time.MicroTime"
	debeziumMicroTimestamp = "io.debezium.time.MicroTimestamp"
	debeziumZonedTimestamp = "io.debezium.time.ZonedTimestamp"
	debeziumUUID           = "io.debezium.data.Uuid"
	debeziumJSON           = "io.debezium.data.Json"
	debeziumVarScale       = "io.debezium.data.VariableScaleDecimal"
	// unavailablePlaceholder stands for a TOASTed value an update did not change
	// (unavailable.value.placeholder).
	unavailablePlaceholder = "__debezium_unavailable_value"
)

var varScaleSchema = data.MustStruct(debeziumVarScale,
	data.F("scale", data.Int32Schema), data.F("value", data.BytesSchema)).Named(debeziumVarScale, 1).WithDoc("Variable scaled decimal")

// column is one column of a captured table.
type column struct {
	name     string
	oid      uint32
	typmod   int32
	optional bool
	key      bool
	schema   *data.Schema
}

// decimalMode is decimal.handling.mode.
type decimalMode uint8

const (
	decimalPrecise decimalMode = iota
	decimalDouble
	decimalString
)

// columnSchema is the Connect schema Debezium gives a column of this type.
func columnSchema(oid uint32, typmod int32, optional bool, dm decimalMode) *data.Schema {
	var s *data.Schema
	switch oid {
	case oidBool:
		s = data.BooleanSchema
	case oidInt2:
		s = data.Int16Schema
	case oidInt4:
		s = data.Int32Schema
	case oidInt8, oidOID:
		s = data.Int64Schema
	case oidFloat4:
		s = data.Float32Schema
	case oidFloat8:
		s = data.Float64Schema
	case oidBytea:
		s = data.BytesSchema
	case oidDate:
		s = (&data.Schema{Type: data.TypeInt32}).Named(debeziumDate, 1)
	case oidTime:
		s = (&data.Schema{Type: data.TypeInt64}).Named(debeziumMicroTime, 1)
	case oidTimestamp:
		s = (&data.Schema{Type: data.TypeInt64}).Named(debeziumMicroTimestamp, 1)
	case oidTimestamptz:
		s = (&data.Schema{Type: data.TypeString}).Named(debeziumZonedTimestamp, 1)
	case oidUUID:
		s = (&data.Schema{Type: data.TypeString}).Named(debeziumUUID, 1)
	case oidJSON, oidJSONB:
		s = (&data.Schema{Type: data.TypeString}).Named(debeziumJSON, 1)
	case oidNumeric:
		switch dm {
		case decimalDouble:
			s = data.Float64Schema
		case decimalString:
			s = data.StringSchema
		default:
			if typmod >= 4 {
				precision, scale := ((typmod-4)>>16)&0xffff, (typmod-4)&0xffff
				s = data.DecimalSchema(scale).WithParameter("connect.decimal.precision", strconv.Itoa(int(precision)))
			} else {
				s = varScaleSchema
			}
		}
	default:
		s = data.StringSchema
	}
	if optional {
		s = s.AsOptional()
	}
	return s
}

// parseText converts a column's text form (as pgoutput and a text-mode query send it) to the
// value of its schema.
func parseText(c *column, text string) (any, error) {
	s := c.schema
	switch s.Name {
	case data.DecimalName:
		scale, _ := data.DecimalScale(s)
		return parseDecimal(text, scale)
	case debeziumVarScale:
		scale := int32(0)
		if i := strings.IndexByte(text, '.'); i >= 0 {
			scale = int32(len(text) - i - 1)
		}
		d, err := parseDecimal(text, scale)
		if err != nil {
			return nil, err
		}
		return data.NewStructValue(s).Set("scale", scale).Set("value", data.DecimalBytes(d)), nil
	case debeziumDate:
		t, err := time.Parse("2006-01-02", text)
		if err != nil {
			return nil, err
		}
		return int32(t.Unix() / 86400), nil
	case debeziumMicroTime:
		t, err := time.Parse("15:04:05.999999", text)
		if err != nil {
			return nil, err
		}
		return int64(t.Hour())*3_600_000_000 + int64(t.Minute())*60_000_000 + int64(t.Second())*1_000_000 + int64(t.Nanosecond()/1000), nil
	case debeziumMicroTimestamp:
		t, err := time.Parse("2006-01-02 15:04:05.999999", text)
		if err != nil {
			return nil, err
		}
		return t.UnixMicro(), nil
	case debeziumZonedTimestamp:
		t, err := parseTimestamptz(text)
		if err != nil {
			return nil, err
		}
		return t.UTC().Format("2006-01-02T15:04:05.999999Z"), nil
	}
	switch s.Type {
	case data.TypeBoolean:
		return text == "t" || text == "true", nil
	case data.TypeInt16:
		n, err := strconv.ParseInt(text, 10, 16)
		return int16(n), err
	case data.TypeInt32:
		n, err := strconv.ParseInt(text, 10, 32)
		return int32(n), err
	case data.TypeInt64:
		return strconv.ParseInt(text, 10, 64)
	case data.TypeFloat32:
		f, err := strconv.ParseFloat(text, 32)
		return float32(f), err
	case data.TypeFloat64:
		return strconv.ParseFloat(text, 64)
	case data.TypeBytes:
		if rest, ok := strings.CutPrefix(text, `\x`); ok {
			return hex.DecodeString(rest)
		}
		return []byte(text), nil
	}
	return text, nil
}

// parseTimestamptz reads PostgreSQL's text form of a timestamptz ("2026-01-15 10:30:00+00",
// with optional fractions and a ±hh[:mm[:ss]] offset).
func parseTimestamptz(text string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999-07", "2006-01-02 15:04:05.999999-07:00", "2006-01-02 15:04:05.999999-07:00:00"} {
		if t, err := time.Parse(layout, text); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("postgres: the timestamptz %q", text)
}

func parseDecimal(text string, scale int32) (data.Decimal, error) {
	if text == "NaN" {
		return data.Decimal{}, fmt.Errorf("postgres: numeric NaN has no Decimal form")
	}
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		return data.Decimal{}, fmt.Errorf("postgres: the numeric %q", text)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	if !r.IsInt() {
		return data.Decimal{}, fmt.Errorf("postgres: the numeric %q has more than %d decimals", text, scale)
	}
	return data.Decimal{Unscaled: new(big.Int).Set(r.Num()), Scale: scale}, nil
}
