package console

import "encoding/json"

// rawJSON is a key or value known to be valid JSON, whose paths are looked up in its bytes
// (jsonPath) rather than by decoding the whole document: a filter over a large topic reads
// one or two fields of each record.
type rawJSON []byte

// jsonPath finds the value at path in the valid JSON document b and decodes only that value.
func jsonPath(b []byte, path []any) (any, bool) {
	i := skipSpace(b, 0)
	for _, step := range path {
		if i >= len(b) {
			return nil, false
		}
		switch s := step.(type) {
		case string:
			if b[i] != '{' {
				return nil, false
			}
			i = skipSpace(b, i+1)
			at := -1 // the last member of that name wins, as in encoding/json
			for i < len(b) && b[i] != '}' {
				keyEnd := skipString(b, i)
				match := jsonKeyEquals(b[i:keyEnd], s)
				i = skipSpace(b, keyEnd)
				i = skipSpace(b, i+1) // the colon
				if match {
					at = i
				}
				i = skipSpace(b, skipValue(b, i))
				if i < len(b) && b[i] == ',' {
					i = skipSpace(b, i+1)
				}
			}
			if at < 0 {
				return nil, false
			}
			i = at
		case int:
			if b[i] != '[' {
				return nil, false
			}
			i = skipSpace(b, i+1)
			for n := 0; n < s; n++ {
				if i >= len(b) || b[i] == ']' {
					return nil, false
				}
				i = skipSpace(b, skipValue(b, i))
				if i < len(b) && b[i] == ',' {
					i = skipSpace(b, i+1)
				}
			}
			if i >= len(b) || b[i] == ']' {
				return nil, false
			}
		}
	}
	end := skipValue(b, i)
	var v any
	if json.Unmarshal(b[i:end], &v) != nil {
		return nil, false
	}
	return v, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] (a quote).
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
		i++
	}
	return i
}

// jsonKeyEquals reports whether the JSON string literal quoted (with its quotes) is s.
func jsonKeyEquals(quoted []byte, s string) bool {
	if len(quoted) < 2 {
		return false
	}
	inner := quoted[1 : len(quoted)-1]
	for _, c := range inner {
		if c == '\\' {
			var k string
			return json.Unmarshal(quoted, &k) == nil && k == s
		}
	}
	return string(inner) == s
}
