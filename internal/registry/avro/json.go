package avro

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
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

// parseJSON reads one JSON value from text, with nothing but whitespace after it.
func parseJSON(text string) (*jsonValue, error) {
	text, err := stripComments(text)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("no content to parse")
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	v, err := readValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("dangling content after end of schema")
	}
	return v, nil
}

// stripComments blanks out // and /* */ comments outside strings, which Avro's parser allows
// (Jackson's ALLOW_COMMENTS), so the JSON decoder sees plain JSON. Offsets stay the same.
func stripComments(text string) (string, error) {
	if !strings.Contains(text, "/") {
		return text, nil
	}
	b := []byte(text)
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '/' && i+1 < len(b) && b[i+1] == '/':
			for ; i < len(b) && b[i] != '\n'; i++ {
				b[i] = ' '
			}
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			end := strings.Index(text[i+2:], "*/")
			if end < 0 {
				return "", errors.New("invalid JSON: unterminated comment")
			}
			for j := i; j < i+2+end+2; j++ {
				if b[j] != '\n' {
					b[j] = ' '
				}
			}
			i += 2 + end + 1
		}
	}
	return string(b), nil
}

func readValue(dec *json.Decoder, depth int) (*jsonValue, error) {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, errors.New("invalid JSON: unexpected end of input")
		}
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	return readFrom(dec, tok, depth)
}

func readFrom(dec *json.Decoder, tok json.Token, depth int) (*jsonValue, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("schema is nested deeper than %d levels", maxDepth)
	}
	switch t := tok.(type) {
	case nil:
		return &jsonValue{kind: jsonNull}, nil
	case bool:
		return &jsonValue{kind: jsonBool, boolean: t}, nil
	case string:
		return &jsonValue{kind: jsonString, text: t}, nil
	case json.Number:
		return numberValue(string(t))
	case json.Delim:
		switch t {
		case '[':
			v := &jsonValue{kind: jsonArray}
			for dec.More() {
				item, err := readValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				v.items = append(v.items, item)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("invalid JSON: %w", err)
			}
			return v, nil
		case '{':
			v := &jsonValue{kind: jsonObject}
			for dec.More() {
				keyTok, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("invalid JSON: %w", err)
				}
				key, _ := keyTok.(string)
				item, err := readValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				v.set(key, item)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("invalid JSON: %w", err)
			}
			return v, nil
		}
	}
	return nil, fmt.Errorf("invalid JSON token %v", tok)
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
