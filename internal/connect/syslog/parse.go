package syslog

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Message is one parsed syslog message.
type Message struct {
	Facility, Severity int
	// Version is 1 for RFC 5424, 0 for RFC 3164 (BSD) messages.
	Version   int
	Timestamp time.Time // zero when absent
	Host      string
	AppName   string // RFC 5424 APP-NAME, or the RFC 3164 TAG
	ProcID    string
	MsgID     string
	// Structured holds RFC 5424 STRUCTURED-DATA: SD-ID → PARAM-NAME → value.
	Structured map[string]map[string]string
	Text       string
	Raw        string
}

var severities = [...]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// Level is the severity's keyword ("err", "info").
func (m *Message) Level() string { return severities[m.Severity&7] }

var errNoPRI = errors.New("syslog: no <PRI> header")

// Parse reads one message: RFC 5424 when a version follows the PRI, else RFC 3164. A message
// without a PRI is an error; RFC 3164 parts that do not parse are left empty and the text kept,
// as receivers do.
func Parse(raw string, now time.Time) (Message, error) {
	m := Message{Raw: raw}
	s := strings.TrimRight(raw, "\r\n\x00")
	if len(s) < 3 || s[0] != '<' {
		return m, errNoPRI
	}
	end := strings.IndexByte(s[:min(len(s), 5)], '>')
	if end < 2 {
		return m, errNoPRI
	}
	pri, err := strconv.Atoi(s[1:end])
	if err != nil || pri < 0 || pri > 191 {
		return m, errNoPRI
	}
	m.Facility, m.Severity = pri/8, pri%8
	s = s[end+1:]
	if len(s) >= 2 && s[0] == '1' && s[1] == ' ' {
		return m, parse5424(&m, s[2:])
	}
	parse3164(&m, s, now)
	return m, nil
}

// field cuts the next space-separated field; "-" is nil.
func field(s string) (string, string) {
	i := strings.IndexByte(s, ' ')
	if i < 0 {
		i = len(s)
	}
	f, rest := s[:i], strings.TrimPrefix(s[i:], " ")
	if f == "-" {
		f = ""
	}
	return f, rest
}

func parse5424(m *Message, s string) error {
	m.Version = 1
	var ts string
	ts, s = field(s)
	if ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return errors.New("syslog: an RFC 5424 timestamp that does not parse: " + ts)
		}
		m.Timestamp = t
	}
	m.Host, s = field(s)
	m.AppName, s = field(s)
	m.ProcID, s = field(s)
	m.MsgID, s = field(s)
	if strings.HasPrefix(s, "-") {
		s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), " ")
	} else if strings.HasPrefix(s, "[") {
		var err error
		if s, err = parseSD(m, s); err != nil {
			return err
		}
	} else if s != "" {
		return errors.New("syslog: RFC 5424 structured data must be - or [...]")
	}
	m.Text = strings.TrimPrefix(s, "\ufeff") // a BOM marks UTF-8 text
	return nil
}

// maxSD bounds the structured-data elements and parameters kept from one message.
const maxSD = 256

func parseSD(m *Message, s string) (string, error) {
	m.Structured = map[string]map[string]string{}
	count := 0
	for strings.HasPrefix(s, "[") {
		s = s[1:]
		i := strings.IndexAny(s, " ]")
		if i <= 0 {
			return "", errors.New("syslog: an SD-ELEMENT without an SD-ID")
		}
		id := s[:i]
		params := m.Structured[id]
		if params == nil {
			params = map[string]string{}
			m.Structured[id] = params
		}
		s = s[i:]
		for {
			s = strings.TrimLeft(s, " ")
			if strings.HasPrefix(s, "]") {
				s = s[1:]
				break
			}
			eq := strings.Index(s, "=\"")
			if eq <= 0 {
				return "", errors.New("syslog: an SD-PARAM that is not name=\"value\"")
			}
			name := s[:eq]
			s = s[eq+2:]
			var val strings.Builder
			closed := false
			for j := 0; j < len(s); j++ {
				c := s[j]
				if c == '\\' && j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\' || s[j+1] == ']') {
					val.WriteByte(s[j+1])
					j++
					continue
				}
				if c == '"' {
					s, closed = s[j+1:], true
					break
				}
				val.WriteByte(c)
			}
			if !closed {
				return "", errors.New("syslog: an unterminated SD-PARAM value")
			}
			if count++; count > maxSD {
				return "", errors.New("syslog: too many structured-data parameters")
			}
			params[name] = val.String()
		}
	}
	return strings.TrimPrefix(s, " "), nil
}

// parse3164 reads "Mmm dd hh:mm:ss HOST TAG[PID]: MSG" as far as it goes.
func parse3164(m *Message, s string, now time.Time) {
	if len(s) >= 16 && s[3] == ' ' && s[15] == ' ' {
		if t, err := time.ParseInLocation(time.Stamp, s[:15], time.Local); err == nil {
			// No year: the one that puts the time nearest now.
			t = t.AddDate(now.Year(), 0, 0)
			if t.After(now.Add(24 * time.Hour)) {
				t = t.AddDate(-1, 0, 0)
			}
			m.Timestamp = t
			s = s[16:]
			m.Host, s = field(s)
		}
	}
	// TAG: alphanumerics up to '[' or ':'.
	i := strings.IndexAny(s, "[: ")
	if i > 0 && i <= 48 {
		tag := s[:i]
		rest := s[i:]
		if strings.HasPrefix(rest, "[") {
			if j := strings.IndexByte(rest, ']'); j > 0 {
				m.ProcID = rest[1:j]
				rest = rest[j+1:]
			}
		}
		if strings.HasPrefix(rest, ":") {
			m.AppName = tag
			s = strings.TrimPrefix(rest[1:], " ")
		}
	}
	m.Text = s
}
