package tlsconf

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// ErrNoMatchingRule: no ssl.principal.mapping.rules rule applies to a certificate's subject;
// Kafka refuses such a connection.
var ErrNoMatchingRule = errors.New("tlsconf: no principal mapping rule applies")

// maxRulesLen bounds the ssl.principal.mapping.rules text parsed.
const maxRulesLen = 64 << 10

// PrincipalMapper maps certificate subjects to principal names with
// ssl.principal.mapping.rules (KIP-371).
type PrincipalMapper struct {
	rules []mappingRule
	text  string
}

type mappingRule struct {
	isDefault    bool
	match        *regexp.Regexp // the pattern anchored at both ends (Java's Matcher.matches)
	replace      *regexp.Regexp // the pattern as given (Java's String.replaceAll)
	replacement  string         // in Go's Expand syntax
	lower, upper bool
}

// ParsePrincipalMappingRules parses KIP-371 rules: a comma-separated list of DEFAULT and
// RULE:pattern/replacement/[L|U], where pattern and replacement escape '/' and '\' with '\'
// (so a pattern may contain commas). Empty means DEFAULT.
func ParsePrincipalMappingRules(text string) (*PrincipalMapper, error) {
	if len(text) > maxRulesLen {
		return nil, fmt.Errorf("rules are %d bytes, more than %d", len(text), maxRulesLen)
	}
	pm := &PrincipalMapper{text: text}
	rest := strings.TrimSpace(text)
	if rest == "" {
		pm.rules = []mappingRule{{isDefault: true}}
		return pm, nil
	}
	for rest != "" {
		var r mappingRule
		var err error
		switch {
		case strings.HasPrefix(rest, "DEFAULT"):
			r.isDefault = true
			rest = rest[len("DEFAULT"):]
		case strings.HasPrefix(rest, "RULE:"):
			r, rest, err = parseRule(rest[len("RULE:"):])
			if err != nil {
				return nil, err
			}
		default:
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			return nil, fmt.Errorf("invalid rule %q: want DEFAULT or RULE:pattern/replacement/[LU]", strings.TrimSpace(rest[:end]))
		}
		rest = strings.TrimLeft(rest, " \t\r\n")
		if rest == "" {
			pm.rules = append(pm.rules, r)
			break
		}
		if rest[0] != ',' {
			return nil, fmt.Errorf("invalid rule text %q: rules are separated by commas", rest)
		}
		rest = strings.TrimLeft(rest[1:], " \t\r\n")
		pm.rules = append(pm.rules, r)
	}
	return pm, nil
}

// parseRule reads pattern/replacement/[LU] and returns what follows it (up to the next comma,
// anything after the flags is ignored, as Kafka's lazy match ignores it).
func parseRule(s string) (mappingRule, string, error) {
	var r mappingRule
	pattern, rest, ok := cutUnescaped(s)
	if !ok {
		return r, "", fmt.Errorf("invalid rule RULE:%s: want RULE:pattern/replacement/[LU]", s)
	}
	replacement, rest, ok := cutUnescaped(rest)
	if !ok {
		return r, "", fmt.Errorf("invalid rule RULE:%s: want RULE:pattern/replacement/[LU]", s)
	}
	if strings.HasPrefix(rest, "L") {
		r.lower, rest = true, rest[1:]
	} else if strings.HasPrefix(rest, "U") {
		r.upper, rest = true, rest[1:]
	}
	if i := strings.IndexByte(rest, ','); i >= 0 {
		rest = rest[i:]
	} else {
		rest = ""
	}
	goPattern := unescapeSlash(pattern)
	var err error
	if r.match, err = regexp.Compile(`^(?:` + goPattern + `)$`); err != nil {
		return r, "", fmt.Errorf("rule pattern %q: %w", pattern, err)
	}
	// Not implied by the anchored form compiling: ")(" anchors into "^(?:)()$".
	if r.replace, err = regexp.Compile(goPattern); err != nil {
		return r, "", fmt.Errorf("rule pattern %q: %w", pattern, err)
	}
	r.replacement = javaReplacement(replacement)
	return r, rest, nil
}

// cutUnescaped splits s at its first '/' not escaped by '\'.
func cutUnescaped(s string) (before, after string, ok bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '/':
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}

// unescapeSlash turns the rule syntax's "\/" into "/" (Java's regex reads "\/" as "/"; RE2
// would too, but this keeps the pattern readable in errors).
func unescapeSlash(s string) string { return strings.ReplaceAll(s, `\/`, `/`) }

// javaReplacement converts a Java replacement string ($1 group references, '\' escapes) to
// regexp.Expand's syntax (${1}, "$$" for a dollar).
func javaReplacement(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			if s[i] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(s[i])
			}
		case c == '$':
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j == i+1 {
				b.WriteString("$$")
			} else {
				b.WriteString("${" + s[i+1:j] + "}")
				i = j - 1
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Map applies the rules in order to dn and returns the first result.
func (pm *PrincipalMapper) Map(dn string) (string, error) {
	for _, r := range pm.rules {
		if r.isDefault {
			return dn, nil
		}
		if !r.match.MatchString(dn) {
			continue
		}
		out := r.replace.ReplaceAllString(dn, r.replacement)
		switch {
		case r.lower:
			out = strings.ToLower(out)
		case r.upper:
			out = strings.ToUpper(out)
		}
		return out, nil
	}
	return "", fmt.Errorf("%w: %q (rules %q)", ErrNoMatchingRule, dn, pm.text)
}

// attributeNames are the attribute types Java's X500Principal.getName(RFC2253) prints by
// name; any other is printed as its OID with the value's DER in hex.
var attributeNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
	"2.5.4.9": "STREET", "0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID",
}

// rawATV and rawRDNSET read a subject keeping each value's encoding (a type name ending in
// SET makes encoding/asn1 read a SET).
type rawATV struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

type rawRDNSET []rawATV

// SubjectDN is the certificate's subject as an RFC 2253 string the way Java prints it
// (X500Principal.getName()): the last RDN of the encoding first ("CN=alice,OU=eng,O=acme").
func SubjectDN(cert *x509.Certificate) (string, error) {
	var seq []rawRDNSET
	rest, err := asn1.Unmarshal(cert.RawSubject, &seq)
	if err != nil {
		return "", fmt.Errorf("certificate subject: %w", err)
	}
	if len(rest) > 0 {
		return "", errors.New("certificate subject: trailing data")
	}
	var b strings.Builder
	for i := len(seq) - 1; i >= 0; i-- {
		if i < len(seq)-1 {
			b.WriteByte(',')
		}
		for j, atv := range seq[i] {
			if j > 0 {
				b.WriteByte('+')
			}
			writeAttribute(&b, atv)
		}
	}
	return b.String(), nil
}

func writeAttribute(b *strings.Builder, atv rawATV) {
	oid := atv.Type.String()
	if name, known := attributeNames[oid]; known {
		var s string
		if _, err := asn1.Unmarshal(atv.Value.FullBytes, &s); err == nil {
			b.WriteString(name + "=")
			b.WriteString(escapeRFC2253(s))
			return
		}
	}
	b.WriteString(oid + "=#")
	b.WriteString(hex.EncodeToString(atv.Value.FullBytes))
}

// escapeRFC2253 escapes a value as RFC 2253 section 2.4 requires.
func escapeRFC2253(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case strings.ContainsRune(`,+"\<>;`, r),
			i == 0 && (r == ' ' || r == '#'),
			i == len(s)-utf8.RuneLen(r) && r == ' ':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
