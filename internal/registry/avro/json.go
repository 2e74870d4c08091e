package avro

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/registry/jsonlex"
)

// maxDepth bounds the nesting of the JSON text and of the schema built from it, so a deeply
// nested input is an error rather than a stack blown by recursion.
const maxDepth = 1000

// jsonKind is the kind of a JSON value as Jackson's tree model (which Avro's Java parser uses)
// tells them apart: integers that fit an int, a long or neither, and floating-point numbers.
type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonInt    // fits a Java int
	jsonLong   // fits a Java long but not an int
	jsonBigInt // an integer beyond a long
	jsonDouble // a number with a fraction or an exponent
	jsonString
	jsonArray
	jsonObject
)

// jsonValue is a JSON value that keeps its object keys in the order they were written, as
// Jackson's ObjectNode does: a schema's custom properties are written back in that order.
type jsonValue struct {
	kind    jsonKind
	boolean bool
	text    string  // a string's value, or an integer's decimal digits
	number  float64 // a double's value
	items   []*jsonValue
	keys    []string // an object's keys in first-seen order; a repeated key keeps its place
	values  []*jsonValue
}

// get returns an object's member, or nil.
func (v *jsonValue) get(key string) *jsonValue {
	if v == nil || v.kind != jsonObject {
		return nil
	}
	for i, k := range v.keys {
		if k == key {
			return v.values[i]
		}
	}
	return nil
}

// textValue is Jackson's textValue(): a string's value, and ok=false for anything else.
func (v *jsonValue) textValue() (string, bool) {
	if v == nil || v.kind != jsonString {
		return "", false
	}
	return v.text, true
}

func (v *jsonValue) isNumber() bool {
	return v.kind == jsonInt || v.kind == jsonLong || v.kind == jsonBigInt || v.kind == jsonDouble
}

func (v *jsonValue) isIntegral() bool {
	return v.kind == jsonInt || v.kind == jsonLong || v.kind == jsonBigInt
}

// float returns a number's value as a float64.
func (v *jsonValue) float() float64 {
	if v.kind == jsonDouble {
		return v.number
	}
	f, _ := strconv.ParseFloat(v.text, 64)
	return f
}

// parseJSON reads one JSON value from text, with nothing but whitespace (and comments, which
// Avro's parser allows: Jackson's ALLOW_COMMENTS) after it.
func parseJSON(text string) (*jsonValue, error) {
	r := &jsonReader{text: text}
	r.skipSpace()
	if r.err == nil && r.pos == len(text) {
		return nil, errors.New("no content to parse")
	}
	v := r.value(0)
	if r.err != nil {
		return nil, r.err
	}
	r.skipSpace()
	if r.err != nil {
		return nil, r.err
	}
	if r.pos != len(text) {
		return nil, errors.New("dangling content after end of schema")
	}
	return v, nil
}

// jsonReader is a recursive-descent JSON reader with a sticky error.
type jsonReader struct {
	text string
	pos  int
	err  error
}

func (r *jsonReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("invalid JSON at offset %d: %s", r.pos, fmt.Sprintf(format, args...))
	}
}

// setErr keeps the first error.
func (r *jsonReader) setErr(err error) {
	if r.err == nil {
		r.err = err
	}
}

// skipSpace skips whitespace and comments.
func (r *jsonReader) skipSpace() {
	for r.pos < len(r.text) {
		switch c := r.text[r.pos]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			r.pos++
		case c == '/' && strings.HasPrefix(r.text[r.pos:], "//"):
			end := strings.IndexByte(r.text[r.pos:], '\n')
			if end < 0 {
				r.pos = len(r.text)
			} else {
				r.pos += end + 1
			}
		case c == '/' && strings.HasPrefix(r.text[r.pos:], "/*"):
			end := strings.Index(r.text[r.pos+2:], "*/")
			if end < 0 {
				r.fail("unterminated comment")
				r.pos = len(r.text)
				return
			}
			r.pos += 2 + end + 2
		default:
			return
		}
	}
}

func (r *jsonReader) value(depth int) *jsonValue {
	if depth > maxDepth {
		r.fail("schema is nested deeper than %d levels", maxDepth)
		return nil
	}
	r.skipSpace()
	if r.err != nil {
		return nil
	}
	if r.pos >= len(r.text) {
		r.fail("unexpected end of input")
		return nil
	}
	switch c := r.text[r.pos]; {
	case c == '{':
		r.pos++
		v := &jsonValue{kind: jsonObject}
		r.skipSpace()
		if r.pos < len(r.text) && r.text[r.pos] == '}' {
			r.pos++
			return v
		}
		for r.err == nil {
			r.skipSpace()
			if r.pos >= len(r.text) || r.text[r.pos] != '"' {
				r.fail("expected a string key")
				return nil
			}
			key := r.str()
			r.skipSpace()
			if r.pos >= len(r.text) || r.text[r.pos] != ':' {
				r.fail("expected ':'")
				return nil
			}
			r.pos++
			item := r.value(depth + 1)
			if r.err != nil {
				return nil
			}
			v.set(key, item)
			if r.next('}') {
				return v
			}
		}
		return nil
	case c == '[':
		r.pos++
		v := &jsonValue{kind: jsonArray}
		r.skipSpace()
		if r.pos < len(r.text) && r.text[r.pos] == ']' {
			r.pos++
			return v
		}
		for r.err == nil {
			item := r.value(depth + 1)
			if r.err != nil {
				return nil
			}
			v.items = append(v.items, item)
			if r.next(']') {
				return v
			}
		}
		return nil
	case c == '"':
		return &jsonValue{kind: jsonString, text: r.str()}
	case c == '-' || (c >= '0' && c <= '9'):
		return r.number()
	case strings.HasPrefix(r.text[r.pos:], "true"):
		r.pos += 4
		return &jsonValue{kind: jsonBool, boolean: true}
	case strings.HasPrefix(r.text[r.pos:], "false"):
		r.pos += 5
		return &jsonValue{kind: jsonBool}
	case strings.HasPrefix(r.text[r.pos:], "null"):
		r.pos += 4
		return &jsonValue{kind: jsonNull}
	}
	r.fail("unexpected character %q", r.text[r.pos])
	return nil
}

// next reads the ',' between members or elements, or the closing delimiter (true).
func (r *jsonReader) next(closing byte) bool {
	r.skipSpace()
	if r.err != nil {
		return false
	}
	if r.pos < len(r.text) {
		switch r.text[r.pos] {
		case ',':
			r.pos++
			return false
		case closing:
			r.pos++
			return true
		}
	}
	r.fail("expected ',' or %q", closing)
	return false
}

// str reads a string at r.pos (its opening quote). Invalid UTF-8 and lone surrogates become
// U+FFFD.
func (r *jsonReader) str() string {
	v, next, err := jsonlex.String(r.text, r.pos)
	r.pos = next
	if err != nil {
		r.setErr(err)
		return ""
	}
	return v
}

// number reads a JSON number (strict grammar: no leading zeros, no '+', digits after '.' and
// in the exponent).
func (r *jsonReader) number() *jsonValue {
	lit, next, err := jsonlex.Number(r.text, r.pos)
	r.pos = next
	if err != nil {
		r.setErr(err)
		return nil
	}
	v, err := numberValue(lit)
	if err != nil {
		r.fail("%v", err)
		return nil
	}
	return v
}

// set adds or replaces an object's member; a replaced member keeps its place (Jackson's
// behaviour for a repeated key: the last value wins).
func (v *jsonValue) set(key string, item *jsonValue) {
	for i, k := range v.keys {
		if k == key {
			v.values[i] = item
			return
		}
	}
	v.keys = append(v.keys, key)
	v.values = append(v.values, item)
}

func numberValue(text string) (*jsonValue, error) {
	if strings.ContainsAny(text, ".eE") {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("invalid number %s", text)
		}
		return &jsonValue{kind: jsonDouble, number: f}, nil
	}
	n, ok := new(big.Int).SetString(text, 10)
	if !ok {
		return nil, fmt.Errorf("invalid number %s", text)
	}
	v := &jsonValue{text: n.String()}
	switch {
	case n.IsInt64() && n.Int64() >= math.MinInt32 && n.Int64() <= math.MaxInt32:
		v.kind = jsonInt
	case n.IsInt64():
		v.kind = jsonLong
	default:
		v.kind = jsonBigInt
	}
	return v, nil
}

// writeJSON appends v as compact JSON the way Jackson writes a tree: keys in their order,
// doubles as Java's Double.toString, strings escaped as Jackson escapes them.
func writeJSON(b *bytes.Buffer, v *jsonValue) {
	switch v.kind {
	case jsonNull:
		b.WriteString("null")
	case jsonBool:
		b.WriteString(strconv.FormatBool(v.boolean))
	case jsonInt, jsonLong, jsonBigInt:
		b.WriteString(v.text)
	case jsonDouble:
		writeDouble(b, v.number)
	case jsonString:
		writeString(b, v.text)
	case jsonArray:
		b.WriteByte('[')
		for i, item := range v.items {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, item)
		}
		b.WriteByte(']')
	case jsonObject:
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			writeJSON(b, v.values[i])
		}
		b.WriteByte('}')
	}
}

// writeDouble writes f as Java's Double.toString does (Jackson's DoubleNode output): NaN and
// the infinities as strings, plain decimals between 10^-3 and 10^7, computerized scientific
// notation ("1.0E10") outside, always with a digit after the point.
func writeDouble(b *bytes.Buffer, f float64) {
	writeFloat(b, f, 64)
}

func writeFloat(b *bytes.Buffer, f float64, bits int) {
	switch {
	case math.IsNaN(f):
		b.WriteString(`"NaN"`)
		return
	case math.IsInf(f, 1):
		b.WriteString(`"Infinity"`)
		return
	case math.IsInf(f, -1):
		b.WriteString(`"-Infinity"`)
		return
	}
	abs := math.Abs(f)
	if abs == 0 || (abs >= 1e-3 && abs < 1e7) {
		s := strconv.FormatFloat(f, 'f', -1, bits)
		if math.Signbit(f) && f == 0 {
			s = "-0"
		}
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		b.WriteString(s)
		return
	}
	s := strconv.FormatFloat(f, 'e', -1, bits) // like 1.5e+10 or 1e-05
	mantissa, exponent, _ := strings.Cut(s, "e")
	if !strings.Contains(mantissa, ".") {
		mantissa += ".0"
	}
	exp, _ := strconv.Atoi(exponent)
	b.WriteString(mantissa)
	b.WriteString("E")
	b.WriteString(strconv.Itoa(exp))
}

const hexDigits = "0123456789ABCDEF"

// writeString writes s quoted as Jackson does: the two-character escapes for ", \ and the
// common control characters, \u00XX for the other control characters, everything else as is.
func writeString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			b.WriteRune(r)
			i += size
			continue
		}
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&0xF])
			} else {
				b.WriteByte(c)
			}
		}
		i++
	}
	b.WriteByte('"')
}
