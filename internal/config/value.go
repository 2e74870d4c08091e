package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// value is a parsed config value. Only the field matching the Def's type is meaningful.
type value struct {
	null bool
	b    bool
	i    int64 // int, short, long
	f    float64
	s    string   // string, class, password
	list []string // list
}

// parse reads raw as d's type the way Kafka's ConfigDef does (surrounding spaces ignored except
// for passwords, booleans case-insensitive, lists split on commas) and runs d's validator.
func (d *Def) parse(raw string) (value, error) {
	v, err := parseType(d.Type, raw)
	if err != nil {
		return value{}, errorf(ErrInvalidValue, "invalid value %q for %s: %v", raw, d.Name, err)
	}
	if d.Valid != nil {
		if err := d.Valid.check(v); err != nil {
			return value{}, errorf(ErrInvalidValue, "invalid value %q for %s: %v", raw, d.Name, err)
		}
	}
	return v, nil
}

func parseType(t Type, raw string) (value, error) {
	s := raw
	if t != TypePassword {
		s = strings.TrimSpace(raw)
	}
	switch t {
	case TypeBoolean:
		switch strings.ToLower(s) {
		case "true":
			return value{b: true}, nil
		case "false":
			return value{b: false}, nil
		}
		return value{}, fmt.Errorf("expected true or false")
	case TypeInt:
		n, err := parseInt(s, 32)
		return value{i: n}, err
	case TypeShort:
		n, err := parseInt(s, 16)
		return value{i: n}, err
	case TypeLong:
		n, err := parseInt(s, 64)
		return value{i: n}, err
	case TypeDouble:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return value{}, fmt.Errorf("not a number")
		}
		return value{f: f}, nil
	case TypeList:
		return value{list: splitList(s)}, nil
	case TypeString, TypeClass, TypePassword:
		return value{s: s}, nil
	}
	return value{}, fmt.Errorf("unknown type %d", t)
}

func parseInt(s string, bits int) (int64, error) {
	n, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("not a %d-bit integer", bits)
	}
	return n, nil
}

// splitList splits a comma-separated list, trimming each element; "" is the empty list.
func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func (v value) canonical(t Type) string {
	switch t {
	case TypeBoolean:
		return strconv.FormatBool(v.b)
	case TypeInt, TypeShort, TypeLong:
		return strconv.FormatInt(v.i, 10)
	case TypeDouble:
		return strconv.FormatFloat(v.f, 'g', -1, 64)
	case TypeList:
		return strings.Join(v.list, ",")
	}
	return v.s
}

// Validator restricts the values of a config beyond its type.
type Validator interface {
	check(v value) error
	String() string // the "Valid values" text in docs/configs.md
}

// AtLeast accepts integers ≥ min.
func AtLeast(min int64) Validator { return intRange{min: min, max: math.MaxInt64} }

// Between accepts integers in [min, max].
func Between(min, max int64) Validator { return intRange{min: min, max: max} }

type intRange struct{ min, max int64 }

func (r intRange) check(v value) error {
	if v.i < r.min || v.i > r.max {
		return fmt.Errorf("must be in %s", r)
	}
	return nil
}

func (r intRange) String() string {
	if r.min == r.max {
		return strconv.FormatInt(r.min, 10)
	}
	if r.max == math.MaxInt64 {
		return fmt.Sprintf("[%d,...]", r.min)
	}
	return fmt.Sprintf("[%d,...,%d]", r.min, r.max)
}

// FloatBetween accepts doubles in [min, max].
func FloatBetween(min, max float64) Validator { return floatRange{min: min, max: max} }

type floatRange struct{ min, max float64 }

func (r floatRange) check(v value) error {
	if v.f < r.min || v.f > r.max {
		return fmt.Errorf("must be in %s", r)
	}
	return nil
}

func (r floatRange) String() string { return fmt.Sprintf("[%g,...,%g]", r.min, r.max) }

// OneOf accepts exactly one of the given strings (case-sensitive, as Kafka).
func OneOf(options ...string) Validator { return oneOf(options) }

type oneOf []string

func (o oneOf) check(v value) error {
	for _, opt := range o {
		if v.s == opt {
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", o)
}

func (o oneOf) String() string { return "[" + strings.Join(o, ", ") + "]" }

// ListOf accepts a list whose elements each are one of the options, without duplicates;
// allowEmpty says whether the empty list is accepted.
func ListOf(allowEmpty bool, options ...string) Validator {
	return listOf{options: options, allowEmpty: allowEmpty}
}

type listOf struct {
	options    []string
	allowEmpty bool
}

func (l listOf) check(v value) error {
	if len(v.list) == 0 && !l.allowEmpty {
		return fmt.Errorf("must not be empty; choose from %s", oneOf(l.options))
	}
	seen := make(map[string]bool, len(v.list))
	for _, e := range v.list {
		if seen[e] {
			return fmt.Errorf("%q appears twice", e)
		}
		seen[e] = true
		if err := oneOf(l.options).check(value{s: e}); err != nil {
			return fmt.Errorf("element %q: %v", e, err)
		}
	}
	return nil
}

func (l listOf) String() string { return "[" + strings.Join(l.options, ", ") + "]" }

// Either accepts a value that any of the validators accepts (compression.gzip.level is -1 or
// 1..9).
func Either(vs ...Validator) Validator { return either(vs) }

type either []Validator

func (e either) check(v value) error {
	for _, one := range e {
		if one.check(v) == nil {
			return nil
		}
	}
	return fmt.Errorf("must be in %s", e)
}

func (e either) String() string {
	parts := make([]string, len(e))
	for i, one := range e {
		parts[i] = one.String()
	}
	return strings.Join(parts, " or ")
}

// Func wraps a custom rule with the text that documents it.
func Func(doc string, check func(s string, list []string) error) Validator {
	return funcValidator{doc: doc, fn: check}
}

type funcValidator struct {
	doc string
	fn  func(string, []string) error
}

func (f funcValidator) check(v value) error { return f.fn(v.s, v.list) }
func (f funcValidator) String() string      { return f.doc }
