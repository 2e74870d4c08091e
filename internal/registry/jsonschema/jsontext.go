package jsonschema

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/registry/jsonlex"
)

// maxDepth caps the nesting of arrays and objects in a schema document (Jackson's default
// StreamReadConstraints allow 1000 levels; so do we). It bounds every recursion over a
// document: the parser, the serializers, the compiler's walk and the compatibility check.
const maxDepth = 1000

// object is a JSON object that keeps its members in the order they were written, as Jackson's
// ObjectNode does: a duplicate key keeps its first position and takes the last value.
type object struct {
	keys []string
	vals map[string]any
}

// value is one of nil, bool, string, json.Number, []any or *object.

// parseJSON decodes one JSON document (RFC 8259, nothing after it but whitespace), keeping
// member order and every number's literal text.
func parseJSON(s string) (any, error) {
	p := &parser{s: s}
	p.ws()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.s) {
		return nil, p.errf("unexpected %q after the top-level value", p.s[p.i])
	}
	return v, nil
}

type parser struct {
	s string
	i int
}

func (p *parser) errf(format string, args ...any) error {
	return fmt.Errorf("invalid JSON at offset %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *parser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (any, error) {
	if p.i >= len(p.s) {
		return nil, p.errf("unexpected end of input")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		if depth >= maxDepth {
			return nil, p.errf("nesting deeper than %d levels", maxDepth)
		}
		return p.object(depth + 1)
	case c == '[':
		if depth >= maxDepth {
			return nil, p.errf("nesting deeper than %d levels", maxDepth)
		}
		return p.array(depth + 1)
	case c == '"':
		return p.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case strings.HasPrefix(p.s[p.i:], "true"):
		p.i += 4
		return true, nil
	case strings.HasPrefix(p.s[p.i:], "false"):
		p.i += 5
		return false, nil
	case strings.HasPrefix(p.s[p.i:], "null"):
		p.i += 4
		return nil, nil
	default:
		return nil, p.errf("unexpected %q", c)
	}
}

func (p *parser) object(depth int) (any, error) {
	p.i++ // {
	o := &object{vals: map[string]any{}}
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return o, nil
	}
	for {
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return nil, p.errf("expected a member name")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, p.errf("expected ':'")
		}
		p.i++
		p.ws()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		if _, dup := o.vals[k]; !dup {
			o.keys = append(o.keys, k)
		}
		o.vals[k] = v
		p.ws()
		if p.i >= len(p.s) {
			return nil, p.errf("unexpected end of input in an object")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return o, nil
		default:
			return nil, p.errf("expected ',' or '}'")
		}
	}
}

func (p *parser) array(depth int) (any, error) {
	p.i++ // [
	a := []any{}
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return a, nil
	}
	for {
		p.ws()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		p.ws()
		if p.i >= len(p.s) {
			return nil, p.errf("unexpected end of input in an array")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return a, nil
		default:
			return nil, p.errf("expected ',' or ']'")
		}
	}
}

func (p *parser) str() (string, error) {
	v, next, err := jsonlex.String(p.s, p.i)
	p.i = next
	return v, err
}

func (p *parser) number() (any, error) {
	lit, next, err := jsonlex.Number(p.s, p.i)
	p.i = next
	if err != nil {
		return nil, err
	}
	if _, err := canonicalNumber(lit); err != nil {
		return nil, p.errf("%v", err)
	}
	return json.Number(lit), nil
}

// canonicalNumber writes a number literal as Confluent's registry does (Jackson reading with
// USE_BIG_DECIMAL_FOR_FLOATS and exact decimals, then writing): an integer literal as its
// value ("-0" is "0"), any literal with a fraction or exponent as Java's BigDecimal.toString
// of it (the literal's digits and scale kept: "1.50" stays, "1e2" is "1E+2", "1.5e-9" is
// "1.5E-9").
func canonicalNumber(lit string) (string, error) {
	neg := strings.HasPrefix(lit, "-")
	body := strings.TrimPrefix(lit, "-")
	mant, exp, hasExp := strings.Cut(strings.ToLower(body), "e")
	intPart, frac, hasFrac := strings.Cut(mant, ".")
	if !hasExp && !hasFrac {
		if strings.Trim(intPart, "0") == "" {
			return "0", nil
		}
		return lit, nil
	}
	scale := int64(len(frac))
	if hasExp {
		e, err := strconv.ParseInt(exp, 10, 32)
		if err != nil {
			return "", errors.New("number exponent out of range")
		}
		scale -= e
	}
	if scale > 1<<31-1 || scale < -(1<<31) {
		return "", errors.New("number exponent out of range")
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		digits = "0"
		neg = false
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	adjusted := -scale + int64(len(digits)-1)
	if scale >= 0 && adjusted >= -6 {
		// Plain notation.
		switch {
		case scale == 0:
			b.WriteString(digits)
		case int64(len(digits)) > scale:
			n := int64(len(digits)) - scale
			b.WriteString(digits[:n])
			b.WriteByte('.')
			b.WriteString(digits[n:])
		default:
			b.WriteString("0.")
			b.WriteString(strings.Repeat("0", int(scale-int64(len(digits)))))
			b.WriteString(digits)
		}
		return b.String(), nil
	}
	b.WriteByte(digits[0])
	if len(digits) > 1 {
		b.WriteByte('.')
		b.WriteString(digits[1:])
	}
	b.WriteByte('E')
	if adjusted > 0 {
		b.WriteByte('+')
	}
	b.WriteString(strconv.FormatInt(adjusted, 10))
	return b.String(), nil
}

// writeJSON serializes v compactly as Jackson does: members in their order (or sorted by key
// as Java's String.compareTo orders them, for Normalized), strings escaping only '"', '\' and
// control characters, non-ASCII written as UTF-8.
func writeJSON(b *strings.Builder, v any, sorted bool) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case string:
		writeString(b, v)
	case json.Number:
		s, err := canonicalNumber(string(v))
		if err != nil { // cannot happen: the parser checked it
			s = string(v)
		}
		b.WriteString(s)
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e, sorted)
		}
		b.WriteByte(']')
	case *object:
		keys := v.keys
		if sorted {
			keys = slices.Clone(keys)
			slices.SortFunc(keys, compareUTF16)
		}
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			writeJSON(b, v.vals[k], sorted)
		}
		b.WriteByte('}')
	}
}

const hexDigits = "0123456789ABCDEF"

func writeString(b *strings.Builder, s string) {
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b.WriteString(s[start:i])
		start = i + 1
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xF])
		}
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}

// compareUTF16 orders strings as Java's String.compareTo does: by UTF-16 code units.
func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			ua, ub := utf16Unit(ra), utf16Unit(rb)
			if ua != ub {
				if ua < ub {
					return -1
				}
				return 1
			}
			// Same high surrogate: the low surrogates decide.
			la, lb := ra&0x3FF, rb&0x3FF
			if la < lb {
				return -1
			}
			return 1
		}
		a, b = a[na:], b[nb:]
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	default:
		return 1
	}
}

// utf16Unit is the first UTF-16 code unit of r.
func utf16Unit(r rune) rune {
	if r >= 0x10000 {
		hi, _ := utf16.EncodeRune(r)
		return hi
	}
	return r
}

// plain turns a parsed document into the form the compiler and the compatibility check use:
// map[string]any for objects (json.Number, string, bool, nil, []any otherwise).
func plain(v any) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = plain(e)
		}
		return out
	case *object:
		out := make(map[string]any, len(v.keys))
		for _, k := range v.keys {
			out[k] = plain(v.vals[k])
		}
		return out
	default:
		return v
	}
}
