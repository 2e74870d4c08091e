package syslog

import (
	"testing"
	"time"
)

func TestParse5424(t *testing.T) {
	raw := `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][x@1 q="a\"b\]c"] ` + "\ufeff" + `An application event log entry...`
	m, err := Parse(raw, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if m.Facility != 20 || m.Severity != 5 || m.Level() != "notice" || m.Version != 1 || m.Host != "mymachine.example.com" ||
		m.AppName != "evntslog" || m.ProcID != "" || m.MsgID != "ID47" || m.Text != "An application event log entry..." ||
		!m.Timestamp.Equal(time.Date(2003, 10, 11, 22, 14, 15, 3e6, time.UTC)) {
		t.Errorf("%+v", m)
	}
	if m.Structured["exampleSDID@32473"]["eventID"] != "1011" || m.Structured["x@1"]["q"] != `a"b]c` {
		t.Errorf("structured data %v", m.Structured)
	}
	m, err = Parse("<13>1 - - - - - -", time.Now())
	if err != nil || m.Text != "" || !m.Timestamp.IsZero() {
		t.Errorf("all nil: %+v %v", m, err)
	}
}

func TestParse3164(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.Local)
	m, err := Parse("<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8", now)
	if err != nil {
		t.Fatal(err)
	}
	if m.Facility != 4 || m.Severity != 2 || m.Host != "mymachine" || m.AppName != "su" || m.ProcID != "123" ||
		m.Text != "'su root' failed for lonvick on /dev/pts/8" || m.Timestamp.Year() != 2026 || m.Timestamp.Month() != time.October {
		t.Errorf("%+v", m)
	}
	// December's clock, a January message: last year's? No — a time more than a day ahead is last year's.
	m, _ = Parse("<13>Dec 31 23:59:59 h app: x", time.Date(2027, 1, 1, 0, 0, 30, 0, time.Local))
	if m.Timestamp.Year() != 2026 {
		t.Errorf("year rollover: %v", m.Timestamp)
	}
	m, _ = Parse("<13>just text", now)
	if m.Text != "just text" || m.Host != "" {
		t.Errorf("bare: %+v", m)
	}
	for _, bad := range []string{"", "no pri", "<>x", "<999>x", "<1a>x", "<13>1 notatime h a p m - x", "<13>1 - h a p m [id x=\"unterminated"} {
		if _, err := Parse(bad, now); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"<165>1 2003-10-11T22:14:15.003Z h a - ID47 [a@1 b=\"c\"] msg", "<34>Oct 11 22:14:15 h su[1]: m", "<13>x", "<0>1 - - - - - -"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(s, time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC))
		if err != nil {
			return
		}
		if m.Severity < 0 || m.Severity > 7 || m.Facility < 0 || m.Facility > 23 || len(m.Text) > len(s) {
			t.Fatalf("%q: %+v", s, m)
		}
		n := 0
		for _, p := range m.Structured {
			n += len(p)
		}
		if n > maxSD {
			t.Fatalf("%d structured parameters kept", n)
		}
	})
}
