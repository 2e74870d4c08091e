// Package jsonlex reads the two JSON tokens whose grammar takes care, strings and numbers, for
// the registry's order-keeping JSON readers (the Avro format's and the JSON Schema format's,
// which keep member order and number literals, as Jackson does and encoding/json does not).
package jsonlex

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// SyntaxError is bad JSON at a byte offset of the text.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at offset %d: %s", e.Offset, e.Msg)
}

func fail(offset int, msg string) error { return &SyntaxError{Offset: offset, Msg: msg} }

// String reads the string literal at s[i] (its opening quote) and returns its value and the
// offset after its closing quote. Control characters must be escaped; invalid UTF-8 and lone
// surrogates become U+FFFD. A literal without escapes is returned without a copy.
func String(s string, i int) (string, int, error) {
	i++ // the opening quote
	start := i
	for i < len(s) {
		c := s[i]
		if c == '"' {
			v := s[start:i]
			if !utf8.ValidString(v) {
				v = strings.ToValidUTF8(v, "\uFFFD")
			}
			return v, i + 1, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		i++
	}
	var b strings.Builder
	b.WriteString(s[start:i])
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			return strings.ToValidUTF8(b.String(), "\uFFFD"), i + 1, nil
		case c < 0x20:
			return "", i, fail(i, "control character in a string")
		case c != '\\':
			b.WriteByte(c)
			i++
			continue
		}
		i++ // the backslash
		if i >= len(s) {
			break
		}
		e := s[i]
		i++
		switch e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := hex4(s, i)
			if !ok {
				return "", i, fail(i, "invalid \\u escape")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				// A pair makes one rune; a lone surrogate becomes U+FFFD.
				if strings.HasPrefix(s[i:], "\\u") {
					if r2, ok := hex4(s, i+2); ok {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							b.WriteRune(d)
							i += 6
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			b.WriteRune(r)
		default:
			return "", i - 1, fail(i-1, fmt.Sprintf("invalid escape %q", e))
		}
	}
	return "", i, fail(i, "unterminated string")
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	n, err := strconv.ParseUint(s[i:i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(n), true
}

// Number reads the number literal at s[i] under JSON's strict grammar (an optional '-', no
// leading zeros, digits after '.' and in the exponent) and returns its text and the offset
// after it.
func Number(s string, i int) (string, int, error) {
	start := i
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	intStart := i
	if n := digits(); n == 0 {
		return "", i, fail(i, "invalid number")
	} else if n > 1 && s[intStart] == '0' {
		return "", intStart, fail(intStart, "leading zero in a number")
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return "", i, fail(i, "invalid number")
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return "", i, fail(i, "invalid number")
		}
	}
	return s[start:i], i, nil
}
