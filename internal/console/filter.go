package console

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The message browser's filter language: an expression over one record, evaluated on the
// server for every record a search scans.
//
//	value.amount > 1000 && key == "c1"
//	value contains "error" || headers["trace"] == "x"
//	timestamp >= "2026-01-15T10:00:00Z" && offset % 2 == 0
//	!(value.items[0].sku startsWith "A-") && key matches "^c[0-9]+$"
//
// Operands: the fields key, value, headers, offset, partition and timestamp (milliseconds
// since the epoch; compared with a string literal, the string is read as an RFC 3339 time or
// a date); JSON paths into a decoded key or value (value.a.b, value["a b"], value.items[0]);
// headers["name"] or headers.name (the last header of that name, as text); string literals
// in double or single quotes with Go's escapes, numbers, true, false, null. Operators, loosest
// first: || (or), && (and), ! (not), the comparisons == != < <= > >= and contains, startsWith,
// endsWith, matches (an RE2 regular expression, a string literal), then + -, then * / %, and
// unary minus. A path that is not there is null; null equals only null and is false in every
// other comparison. contains on a JSON array asks whether an element equals the operand, on
// an object whether it has that key, otherwise whether the text contains it. Numbers compare
// with numbers (a string that reads as a number counts as one), strings with strings.
//
// Bounds: an expression of at most maxFilterLen bytes, nested at most maxFilterDepth deep, a
// regular expression of at most maxFilterRegex bytes; errors say the column they are at.

const (
	maxFilterLen   = 4096
	maxFilterDepth = 64
	maxFilterRegex = 1024
)

// FilterError is a filter expression that does not parse: where (a 1-based column) and why.
type FilterError struct {
	Column int
	Msg    string
}

func (e *FilterError) Error() string { return fmt.Sprintf("filter: column %d: %s", e.Column, e.Msg) }

// Filter is a parsed filter expression, safe for concurrent use.
type Filter struct {
	src  string
	root *fnode
	// usesKeyDoc, usesValueDoc: the expression looks into the decoded key or value, so the
	// record's bytes must be decoded (else only their text is needed).
	usesKeyDoc, usesValueDoc bool
}

// String is the expression as written.
func (f *Filter) String() string { return f.src }

// field names a record's part.
type field uint8

const (
	fieldKey field = iota + 1
	fieldValue
	fieldHeaders
	fieldOffset
	fieldPartition
	fieldTimestamp
)

var fieldNames = map[string]field{"key": fieldKey, "value": fieldValue, "headers": fieldHeaders,
	"offset": fieldOffset, "partition": fieldPartition, "timestamp": fieldTimestamp}

type fop uint8

const (
	opLit fop = iota + 1
	opField
	opOr
	opAnd
	opNot
	opNeg
	opEq
	opNe
	opLt
	opLe
	opGt
	opGe
	opContains
	opStartsWith
	opEndsWith
	opMatches
	opAdd
	opSub
	opMul
	opDiv
	opMod
)

// fnode is one node of the expression tree.
type fnode struct {
	op    fop
	l, r  *fnode
	lit   fval           // opLit
	field field          // opField
	path  []any          // opField: string names and int indexes
	re    *regexp.Regexp // opMatches
}

// fkind is the kind of a value during evaluation.
type fkind uint8

const (
	kNull fkind = iota // also a path that is not there
	kBool
	kNum
	kStr
	kDoc // a JSON object or array
)

type fval struct {
	kind fkind
	b    bool
	n    float64
	s    string
	doc  any
}

// ParseFilter parses a filter expression.
func ParseFilter(src string) (*Filter, error) {
	if len(src) > maxFilterLen {
		return nil, &FilterError{1, fmt.Sprintf("the expression is %d bytes; at most %d", len(src), maxFilterLen)}
	}
	if !utf8.ValidString(src) {
		return nil, &FilterError{1, "the expression is not valid UTF-8"}
	}
	p := &fparser{src: src, f: &Filter{src: src}}
	p.next()
	root := p.expr(0)
	if p.err == nil && p.tok.kind != tEOF {
		p.fail(p.tok.pos, fmt.Sprintf("unexpected %s", p.tok.describe()))
	}
	if p.err != nil {
		return nil, p.err
	}
	p.f.root = root
	return p.f, nil
}

// Tokens.

type tkind uint8

const (
	tEOF tkind = iota
	tIdent
	tNum
	tStr
	tOp // punctuation: || && ! == != < <= > >= + - * / % ( ) [ ] .
)

type token struct {
	kind tkind
	pos  int // byte offset
	text string
	num  float64
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tStr:
		return "string " + strconv.Quote(t.text)
	}
	return strconv.Quote(t.text)
}

type fparser struct {
	src   string
	pos   int
	tok   token
	err   *FilterError
	f     *Filter
	depth int
}

func (p *fparser) fail(pos int, msg string) {
	if p.err == nil {
		p.err = &FilterError{Column: utf8.RuneCountInString(p.src[:min(pos, len(p.src))]) + 1, Msg: msg}
	}
	p.tok = token{kind: tEOF, pos: len(p.src)}
	p.pos = len(p.src)
}

// next reads the next token into p.tok.
func (p *fparser) next() {
	if p.err != nil {
		return
	}
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
	start := p.pos
	if p.pos >= len(p.src) {
		p.tok = token{kind: tEOF, pos: start}
		return
	}
	c := p.src[p.pos]
	switch {
	case c == '"' || c == '\'':
		s, end, err := scanString(p.src, p.pos)
		if err != "" {
			p.fail(start, err)
			return
		}
		p.pos = end
		p.tok = token{kind: tStr, pos: start, text: s}
	case c >= '0' && c <= '9':
		end := p.pos
		for end < len(p.src) && (isDigit(p.src[end]) || p.src[end] == '.' || p.src[end] == 'e' || p.src[end] == 'E' ||
			((p.src[end] == '+' || p.src[end] == '-') && (p.src[end-1] == 'e' || p.src[end-1] == 'E'))) {
			end++
		}
		n, err := strconv.ParseFloat(p.src[p.pos:end], 64)
		if err != nil || math.IsInf(n, 0) {
			p.fail(start, fmt.Sprintf("%q is not a number", p.src[p.pos:end]))
			return
		}
		p.pos = end
		p.tok = token{kind: tNum, pos: start, text: p.src[start:end], num: n}
	case c == '_' || c == '$' || c < utf8.RuneSelf && unicode.IsLetter(rune(c)) || c >= utf8.RuneSelf:
		end := p.pos
		for end < len(p.src) {
			r, size := utf8.DecodeRuneInString(p.src[end:])
			if r != '_' && r != '$' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				break
			}
			end += size
		}
		if end == p.pos {
			r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
			p.fail(start, fmt.Sprintf("unexpected character %q", r))
			return
		}
		p.pos = end
		p.tok = token{kind: tIdent, pos: start, text: p.src[start:end]}
	default:
		for _, op := range []string{"||", "&&", "==", "!=", "<=", ">=", "!", "<", ">", "+", "-", "*", "/", "%", "(", ")", "[", "]", ".", "="} {
			if strings.HasPrefix(p.src[p.pos:], op) {
				if op == "=" {
					p.fail(start, `"=" is not an operator: compare with "=="`)
					return
				}
				p.pos += len(op)
				p.tok = token{kind: tOp, pos: start, text: op}
				return
			}
		}
		r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
		p.fail(start, fmt.Sprintf("unexpected character %q", r))
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanString reads the quoted string at src[pos] with Go's escapes (in either quote).
func scanString(src string, pos int) (string, int, string) {
	q := src[pos]
	var b strings.Builder
	i := pos + 1
	for i < len(src) {
		c := src[i]
		switch {
		case c == q:
			return b.String(), i + 1, ""
		case c == '\\':
			if i+1 >= len(src) {
				return "", 0, "unterminated string"
			}
			r, _, tail, err := strconv.UnquoteChar(src[i:], q)
			if err != nil {
				return "", 0, fmt.Sprintf("bad escape %q in string", src[i:min(i+2, len(src))])
			}
			b.WriteRune(r)
			i = len(src) - len(tail)
		default:
			b.WriteByte(c)
			i++
		}
	}
	return "", 0, "unterminated string"
}

// is reports whether the current token is the operator or word s (words: any case).
func (p *fparser) is(s string) bool {
	switch p.tok.kind {
	case tOp:
		return p.tok.text == s
	case tIdent:
		return strings.EqualFold(p.tok.text, s)
	}
	return false
}

func (p *fparser) enter(pos int) bool {
	p.depth++
	if p.depth > maxFilterDepth {
		p.fail(pos, fmt.Sprintf("the expression is nested more than %d deep", maxFilterDepth))
		return false
	}
	return true
}

// expr parses an expression whose operators bind at least as tightly as level (0: ||).
func (p *fparser) expr(level int) *fnode {
	if !p.enter(p.tok.pos) {
		return nil
	}
	defer func() { p.depth-- }()
	switch level {
	case 0, 1: // || and &&
		l := p.expr(level + 1)
		for p.err == nil && (level == 0 && (p.is("||") || p.is("or")) || level == 1 && (p.is("&&") || p.is("and"))) {
			op := opOr
			if level == 1 {
				op = opAnd
			}
			p.next()
			r := p.expr(level + 1)
			l = &fnode{op: op, l: l, r: r}
		}
		return l
	case 2: // !
		if p.is("!") || p.is("not") {
			p.next()
			return &fnode{op: opNot, l: p.expr(2)}
		}
		return p.compare()
	}
	return nil
}

var compareOps = map[string]fop{"==": opEq, "!=": opNe, "<": opLt, "<=": opLe, ">": opGt, ">=": opGe,
	"contains": opContains, "startswith": opStartsWith, "endswith": opEndsWith, "matches": opMatches}

func (p *fparser) compare() *fnode {
	l := p.sum()
	op, ok := fop(0), false
	if p.tok.kind == tOp || p.tok.kind == tIdent {
		op, ok = compareOps[strings.ToLower(p.tok.text)]
	}
	if !ok || p.err != nil {
		return l
	}
	opPos, opText := p.tok.pos, p.tok.text
	p.next()
	rPos := p.tok.pos
	r := p.sum()
	if p.err != nil {
		return nil
	}
	n := &fnode{op: op, l: l, r: r}
	if op == opMatches {
		if r.op != opLit || r.lit.kind != kStr {
			p.fail(rPos, "matches takes a string literal (an RE2 regular expression)")
			return nil
		}
		if len(r.lit.s) > maxFilterRegex {
			p.fail(rPos, fmt.Sprintf("the regular expression is %d bytes; at most %d", len(r.lit.s), maxFilterRegex))
			return nil
		}
		re, err := regexp.Compile(r.lit.s)
		if err != nil {
			p.fail(rPos, fmt.Sprintf("bad regular expression: %v", err))
			return nil
		}
		n.re = re
	}
	// timestamp compared with a string literal: the string is a time.
	for _, pair := range [2][2]*fnode{{l, r}, {r, l}} {
		f, lit := pair[0], pair[1]
		if f.op == opField && f.field == fieldTimestamp && lit.op == opLit && lit.lit.kind == kStr && op <= opGe {
			ms, err := parseFilterTime(lit.lit.s)
			if err != nil {
				p.fail(opPos, fmt.Sprintf("timestamp %s %q: %v", opText, lit.lit.s, err))
				return nil
			}
			lit.lit = fval{kind: kNum, n: float64(ms)}
		}
	}
	if p.tok.kind == tOp || p.tok.kind == tIdent {
		if _, again := compareOps[strings.ToLower(p.tok.text)]; again {
			p.fail(p.tok.pos, fmt.Sprintf("comparisons do not chain: put parentheses around %q's operands", p.tok.text))
			return nil
		}
	}
	return n
}

// parseFilterTime reads an RFC 3339 time, or a date and time without zone (UTC), or a date.
func parseFilterTime(s string) (int64, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("not a time (use RFC 3339, e.g. 2026-01-15T10:00:00Z, or a date)")
}

func (p *fparser) sum() *fnode {
	l := p.product()
	for p.err == nil && (p.is("+") || p.is("-")) {
		op := opAdd
		if p.tok.text == "-" {
			op = opSub
		}
		p.next()
		l = &fnode{op: op, l: l, r: p.product()}
	}
	return l
}

func (p *fparser) product() *fnode {
	l := p.unary()
	for p.err == nil && (p.is("*") || p.is("/") || p.is("%")) {
		op := map[string]fop{"*": opMul, "/": opDiv, "%": opMod}[p.tok.text]
		p.next()
		l = &fnode{op: op, l: l, r: p.unary()}
	}
	return l
}

func (p *fparser) unary() *fnode {
	if p.is("-") {
		if !p.enter(p.tok.pos) {
			return nil
		}
		defer func() { p.depth-- }()
		p.next()
		return &fnode{op: opNeg, l: p.unary()}
	}
	return p.primary()
}

func (p *fparser) primary() *fnode {
	t := p.tok
	switch t.kind {
	case tNum:
		p.next()
		return &fnode{op: opLit, lit: fval{kind: kNum, n: t.num}}
	case tStr:
		p.next()
		return &fnode{op: opLit, lit: fval{kind: kStr, s: t.text}}
	case tOp:
		if t.text == "(" {
			p.next()
			n := p.expr(0)
			if p.err == nil && !p.is(")") {
				p.fail(p.tok.pos, fmt.Sprintf("expected \")\" to close the \"(\" at column %d, found %s", t.pos+1, p.tok.describe()))
			}
			p.next()
			return n
		}
	case tIdent:
		switch strings.ToLower(t.text) {
		case "true", "false":
			p.next()
			return &fnode{op: opLit, lit: fval{kind: kBool, b: strings.EqualFold(t.text, "true")}}
		case "null":
			p.next()
			return &fnode{op: opLit, lit: fval{kind: kNull}}
		}
		f, ok := fieldNames[t.text]
		if !ok {
			p.fail(t.pos, fmt.Sprintf("unknown name %q: use key, value, headers, offset, partition or timestamp", t.text))
			return nil
		}
		p.next()
		n := &fnode{op: opField, field: f}
		p.path(n)
		return n
	case tEOF:
		p.fail(t.pos, "the expression ends where an operand was expected")
		return nil
	}
	p.fail(t.pos, fmt.Sprintf("expected an operand, found %s", t.describe()))
	return nil
}

// path reads .name, ["name"] and [index] after a field.
func (p *fparser) path(n *fnode) {
	for p.err == nil && (p.is(".") || p.is("[")) {
		if len(n.path) >= maxFilterDepth {
			p.fail(p.tok.pos, fmt.Sprintf("a path of more than %d steps", maxFilterDepth))
			return
		}
		if n.field == fieldHeaders && len(n.path) == 1 {
			p.fail(p.tok.pos, "a header is text: select one header, headers[\"name\"]")
			return
		}
		if n.field != fieldKey && n.field != fieldValue && n.field != fieldHeaders {
			p.fail(p.tok.pos, fmt.Sprintf("%s has no parts to select", fieldName(n.field)))
			return
		}
		if p.is(".") {
			p.next()
			if p.tok.kind != tIdent {
				p.fail(p.tok.pos, fmt.Sprintf("expected a name after \".\", found %s", p.tok.describe()))
				return
			}
			n.path = append(n.path, p.tok.text)
			p.next()
			continue
		}
		open := p.tok.pos
		p.next()
		switch p.tok.kind {
		case tStr:
			n.path = append(n.path, p.tok.text)
		case tNum:
			if p.tok.num < 0 || p.tok.num != math.Trunc(p.tok.num) || p.tok.num > math.MaxInt32 {
				p.fail(p.tok.pos, fmt.Sprintf("%s is not an array index", p.tok.text))
				return
			}
			n.path = append(n.path, int(p.tok.num))
		default:
			p.fail(p.tok.pos, fmt.Sprintf("expected a string or an index in [ ], found %s", p.tok.describe()))
			return
		}
		p.next()
		if !p.is("]") {
			p.fail(p.tok.pos, fmt.Sprintf("expected \"]\" to close the \"[\" at column %d, found %s", open+1, p.tok.describe()))
			return
		}
		p.next()
	}
	if len(n.path) > 0 && n.field == fieldKey {
		p.f.usesKeyDoc = true
	}
	if len(n.path) > 0 && n.field == fieldValue {
		p.f.usesValueDoc = true
	}
}

func fieldName(f field) string {
	for name, v := range fieldNames {
		if v == f {
			return name
		}
	}
	return "?"
}

// Evaluation.

// filterRecord is what an expression sees of one record. Key and value are decoded only
// when the expression needs it.
type filterRecord struct {
	Key, Value []byte
	KeyNull    bool // the key (or value) is null, not empty
	ValueNull  bool
	Headers    []filterHeader
	Offset     int64
	Partition  int32
	Timestamp  int64 // milliseconds since the epoch
	// Decode, if set, decodes a key or value for paths and text: its text and, when it is a
	// document (JSON, a registry-decoded record), its value as encoding/json would hold it.
	// Without it, the text is the bytes and the document their JSON, if they are JSON.
	Decode func(b []byte, isKey bool) (text string, doc any, isDoc bool)

	keyDone, valueDone bool
	keyText, valueText string
	keyDoc, valueDoc   any
	keyIsDoc, valIsDoc bool
}

type filterHeader struct {
	Key   string
	Value []byte
}

func (r *filterRecord) decoded(isKey bool) (string, any, bool) {
	if isKey {
		if !r.keyDone {
			r.keyText, r.keyDoc, r.keyIsDoc = r.decode(r.Key, true)
			r.keyDone = true
		}
		return r.keyText, r.keyDoc, r.keyIsDoc
	}
	if !r.valueDone {
		r.valueText, r.valueDoc, r.valIsDoc = r.decode(r.Value, false)
		r.valueDone = true
	}
	return r.valueText, r.valueDoc, r.valIsDoc
}

func (r *filterRecord) decode(b []byte, isKey bool) (string, any, bool) {
	if r.Decode != nil {
		return r.Decode(b, isKey)
	}
	return string(b), nil, false
}

// docOf parses b as JSON: the default decoding of a key or value for paths.
func docOf(b []byte) (any, bool) {
	if len(b) == 0 || !json.Valid(b) {
		return nil, false
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return nil, false
	}
	return v, true
}

// Match reports whether the record satisfies the filter.
func (f *Filter) Match(r *filterRecord) bool {
	return truthy(f.eval(f.root, r))
}

func truthy(v fval) bool {
	switch v.kind {
	case kBool:
		return v.b
	case kNum:
		return v.n != 0
	case kStr:
		return v.s != ""
	case kDoc:
		return true
	}
	return false
}

func (f *Filter) eval(n *fnode, r *filterRecord) fval {
	switch n.op {
	case opLit:
		return n.lit
	case opField:
		return fieldOf(n, r)
	case opOr:
		return fval{kind: kBool, b: truthy(f.eval(n.l, r)) || truthy(f.eval(n.r, r))}
	case opAnd:
		return fval{kind: kBool, b: truthy(f.eval(n.l, r)) && truthy(f.eval(n.r, r))}
	case opNot:
		return fval{kind: kBool, b: !truthy(f.eval(n.l, r))}
	case opNeg:
		if x, ok := asNum(f.eval(n.l, r)); ok {
			return fval{kind: kNum, n: -x}
		}
		return fval{}
	}
	l, rv := f.eval(n.l, r), f.eval(n.r, r)
	switch n.op {
	case opEq:
		return fval{kind: kBool, b: equal(l, rv)}
	case opNe:
		return fval{kind: kBool, b: !equal(l, rv)}
	case opLt, opLe, opGt, opGe:
		c, ok := order(l, rv)
		if !ok {
			return fval{kind: kBool}
		}
		b := map[fop]bool{opLt: c < 0, opLe: c <= 0, opGt: c > 0, opGe: c >= 0}[n.op]
		return fval{kind: kBool, b: b}
	case opContains:
		return fval{kind: kBool, b: contains(l, rv)}
	case opStartsWith, opEndsWith:
		if l.kind == kNull || rv.kind == kNull {
			return fval{kind: kBool}
		}
		ls, rs := text(l), text(rv)
		if n.op == opStartsWith {
			return fval{kind: kBool, b: strings.HasPrefix(ls, rs)}
		}
		return fval{kind: kBool, b: strings.HasSuffix(ls, rs)}
	case opMatches:
		if l.kind == kNull {
			return fval{kind: kBool}
		}
		return fval{kind: kBool, b: n.re.MatchString(text(l))}
	}
	x, okx := asNum(l)
	y, oky := asNum(rv)
	if !okx || !oky {
		return fval{}
	}
	var z float64
	switch n.op {
	case opAdd:
		z = x + y
	case opSub:
		z = x - y
	case opMul:
		z = x * y
	case opDiv:
		if y == 0 {
			return fval{}
		}
		z = x / y
	case opMod:
		if y == 0 {
			return fval{}
		}
		z = math.Mod(x, y)
	}
	return fval{kind: kNum, n: z}
}

func fieldOf(n *fnode, r *filterRecord) fval {
	switch n.field {
	case fieldOffset:
		return fval{kind: kNum, n: float64(r.Offset)}
	case fieldPartition:
		return fval{kind: kNum, n: float64(r.Partition)}
	case fieldTimestamp:
		return fval{kind: kNum, n: float64(r.Timestamp)}
	case fieldHeaders:
		if len(n.path) == 0 {
			m := make(map[string]any, len(r.Headers))
			for _, h := range r.Headers {
				m[h.Key] = string(h.Value)
			}
			return fval{kind: kDoc, doc: m}
		}
		name, ok := n.path[0].(string)
		if !ok {
			return fval{}
		}
		for i := len(r.Headers) - 1; i >= 0; i-- {
			if r.Headers[i].Key == name {
				return fval{kind: kStr, s: string(r.Headers[i].Value)}
			}
		}
		return fval{}
	}
	isKey := n.field == fieldKey
	if isKey && r.KeyNull || !isKey && r.ValueNull {
		return fval{}
	}
	txt, doc, isDoc := r.decoded(isKey)
	if len(n.path) == 0 {
		return fval{kind: kStr, s: txt}
	}
	if !isDoc {
		return fval{}
	}
	if raw, ok := doc.(rawJSON); ok {
		v, found := jsonPath(raw, n.path)
		if !found {
			return fval{}
		}
		return docValue(v)
	}
	for _, step := range n.path {
		switch s := step.(type) {
		case string:
			m, ok := doc.(map[string]any)
			if !ok {
				return fval{}
			}
			if doc, ok = m[s]; !ok {
				return fval{}
			}
		case int:
			a, ok := doc.([]any)
			if !ok || s >= len(a) {
				return fval{}
			}
			doc = a[s]
		}
	}
	return docValue(doc)
}

// docValue is a decoded document's value (JSON's, or a registry decoder's Go values).
func docValue(v any) fval {
	switch x := v.(type) {
	case nil:
		return fval{}
	case bool:
		return fval{kind: kBool, b: x}
	case string:
		return fval{kind: kStr, s: x}
	case float64:
		return fval{kind: kNum, n: x}
	case float32:
		return fval{kind: kNum, n: float64(x)}
	case int:
		return fval{kind: kNum, n: float64(x)}
	case int32:
		return fval{kind: kNum, n: float64(x)}
	case int64:
		return fval{kind: kNum, n: float64(x)}
	case uint32:
		return fval{kind: kNum, n: float64(x)}
	case uint64:
		return fval{kind: kNum, n: float64(x)}
	case json.Number:
		if n, err := x.Float64(); err == nil {
			return fval{kind: kNum, n: n}
		}
		return fval{kind: kStr, s: string(x)}
	case time.Time:
		return fval{kind: kNum, n: float64(x.UnixMilli())}
	case []byte:
		return fval{kind: kStr, s: string(x)}
	}
	return fval{kind: kDoc, doc: v}
}

// asNum is v as a number: numbers, and strings that read as one.
func asNum(v fval) (float64, bool) {
	switch v.kind {
	case kNum:
		return v.n, true
	case kStr:
		n, err := strconv.ParseFloat(strings.TrimSpace(v.s), 64)
		return n, err == nil
	}
	return 0, false
}

// text is v's text: strings as they are, other values in JSON.
func text(v fval) string {
	switch v.kind {
	case kStr:
		return v.s
	case kNum:
		return strconv.FormatFloat(v.n, 'f', -1, 64)
	case kBool:
		return strconv.FormatBool(v.b)
	case kDoc:
		b, _ := json.Marshal(v.doc)
		return string(b)
	}
	return ""
}

func equal(a, b fval) bool {
	if a.kind == kNull || b.kind == kNull {
		return a.kind == b.kind
	}
	if a.kind == kNum || b.kind == kNum {
		x, okx := asNum(a)
		y, oky := asNum(b)
		return okx && oky && x == y
	}
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case kBool:
		return a.b == b.b
	case kStr:
		return a.s == b.s
	}
	return reflect.DeepEqual(a.doc, b.doc)
}

// order compares a and b: numbers as numbers, strings as strings.
func order(a, b fval) (int, bool) {
	if a.kind == kNum || b.kind == kNum {
		x, okx := asNum(a)
		y, oky := asNum(b)
		if !okx || !oky || math.IsNaN(x) || math.IsNaN(y) {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	}
	if a.kind == kStr && b.kind == kStr {
		return strings.Compare(a.s, b.s), true
	}
	return 0, false
}

func contains(a, b fval) bool {
	if a.kind == kNull || b.kind == kNull {
		return false
	}
	if a.kind == kDoc {
		switch d := a.doc.(type) {
		case []any:
			for _, e := range d {
				if equal(docValue(e), b) {
					return true
				}
			}
			return false
		case map[string]any:
			_, ok := d[text(b)]
			return ok
		}
	}
	return strings.Contains(text(a), text(b))
}
