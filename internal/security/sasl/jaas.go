package sasl

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// Login modules Kafka names in sasl.jaas.config.
const (
	PlainLoginModule       = "org.apache.kafka.common.security.plain.PlainLoginModule"
	ScramLoginModule       = "org.apache.kafka.common.security.scram.ScramLoginModule"
	OAuthBearerLoginModule = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"
)

// JAASConfig is one parsed sasl.jaas.config value: a login module and its options.
type JAASConfig struct {
	LoginModule string
	Flag        string // required, requisite, sufficient or optional
	Options     map[string]string
}

// PlainUsers returns the user_<name>="<password>" options: PlainLoginModule's users.
func (j JAASConfig) PlainUsers() map[string]string {
	users := make(map[string]string)
	for k, v := range j.Options {
		if name, ok := strings.CutPrefix(k, "user_"); ok && name != "" {
			users[name] = v
		}
	}
	return users
}

// ParseJAAS parses a sasl.jaas.config value as Kafka's JaasConfig does: one login module,
// `<class> <flag> key=value ... ;`, values quoted with " (\" and \\ escapes) or bare.
// Only one module is accepted, as Kafka requires of sasl.jaas.config.
func ParseJAAS(s string) (JAASConfig, error) {
	var j JAASConfig
	toks, err := jaasTokens(s)
	if err != nil {
		return j, err
	}
	if len(toks) < 3 || toks[len(toks)-1] != ";" {
		return j, fmt.Errorf("sasl: JAAS config: want `<LoginModule> required key=\"value\" ... ;`")
	}
	j.LoginModule, j.Flag = toks[0], toks[1]
	switch j.Flag {
	case "required", "requisite", "sufficient", "optional":
	default:
		return j, fmt.Errorf("sasl: JAAS config: invalid control flag %q", j.Flag)
	}
	j.Options = make(map[string]string)
	rest := toks[2 : len(toks)-1]
	for i := 0; i < len(rest); {
		if i+2 >= len(rest) || rest[i+1] != "=" || rest[i] == "=" || rest[i+2] == "=" {
			return j, fmt.Errorf("sasl: JAAS config: want key=value, got %q", rest[i])
		}
		j.Options[rest[i]] = rest[i+2]
		i += 3
	}
	return j, nil
}

// jaasTokens splits s into words, "=", ";" and quoted strings (unquoted).
func jaasTokens(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '=' || c == ';':
			toks = append(toks, string(c))
			i++
		case c == '"':
			var b strings.Builder
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("sasl: JAAS config: unterminated quoted value")
			}
			i++
			toks = append(toks, b.String())
		default:
			start := i
			for i < len(s) && !strings.ContainsRune(" \t\r\n=;\"", rune(s[i])) {
				i++
			}
			toks = append(toks, s[start:i])
		}
	}
	return toks, nil
}

// ReadPlainUsersFile reads sluice.sasl.plain.users.file: one `user=password` a line; blank
// lines and lines starting with # are skipped; the password is everything after the first '='.
func ReadPlainUsersFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sasl: plain users file: %w", err)
	}
	users := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		user, password, ok := strings.Cut(line, "=")
		user = strings.TrimSpace(user)
		if !ok || user == "" || password == "" {
			return nil, fmt.Errorf("sasl: plain users file %s:%d: want user=password", path, n)
		}
		users[user] = password
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("sasl: plain users file %s: %w", path, err)
	}
	return users, nil
}
