package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/sluicehq/sluice/internal/connect"
	"github.com/sluicehq/sluice/internal/connect/data"
)

// pgoutput messages (protocol version 1), built as a server sends them.
type wal struct{ b []byte }

func (w *wal) u8(v byte) *wal    { w.b = append(w.b, v); return w }
func (w *wal) u16(v uint16) *wal { w.b = binary.BigEndian.AppendUint16(w.b, v); return w }
func (w *wal) u32(v uint32) *wal { w.b = binary.BigEndian.AppendUint32(w.b, v); return w }
func (w *wal) u64(v uint64) *wal { w.b = binary.BigEndian.AppendUint64(w.b, v); return w }

// tuple appends tuple data of text columns.
func (w *wal) tuple(cols ...string) *wal {
	w.u16(uint16(len(cols)))
	for _, c := range cols {
		w.u8('t').u32(uint32(len(c)))
		w.b = append(w.b, c...)
	}
	return w
}

var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func beginMsg(xid uint32, final pglogrepl.LSN, at time.Time) []byte {
	return (&wal{}).u8('B').u64(uint64(final)).u64(uint64(at.Sub(pgEpoch).Microseconds())).u32(xid).b
}

func commitMsg(lsn, end pglogrepl.LSN, at time.Time) []byte {
	return (&wal{}).u8('C').u8(0).u64(uint64(lsn)).u64(uint64(end)).u64(uint64(at.Sub(pgEpoch).Microseconds())).b
}

func insertMsg(rel uint32, cols ...string) []byte {
	return (&wal{}).u8('I').u32(rel).u8('N').tuple(cols...).b
}

func deleteMsg(rel uint32, key ...string) []byte {
	return (&wal{}).u8('D').u32(rel).u8('K').tuple(key...).b
}

func updateKeyMsg(rel uint32, oldKey []string, cols ...string) []byte {
	return (&wal{}).u8('U').u32(rel).u8('K').tuple(oldKey...).u8('N').tuple(cols...).b
}

func truncateMsg(rels ...uint32) []byte {
	w := (&wal{}).u8('T').u32(uint32(len(rels))).u8(0)
	for _, r := range rels {
		w.u32(r)
	}
	return w.b
}

// testTask is a streaming task over two tables, public.a (relation 1) and public.b (2), both
// (id int4 primary key, v text).
func testTask(txMeta bool) *task {
	t := &task{cfg: map[string]string{"database.dbname": "db"}, prefix: "srv", txMeta: txMeta, txTopic: "srv.transaction", tombs: true,
		skip: map[string]bool{}, srcPart: map[string]any{"server": "srv"}, source: sourceSchema(), tables: map[uint32]*table{}, byName: map[string]*table{}}
	for rel, name := range map[uint32]string{1: "a", 2: "b"} {
		tb := &table{schema: "public", name: name, topic: "srv.public." + name, columns: []*column{
			{name: "id", oid: oidInt4, typmod: -1, key: true, schema: columnSchema(oidInt4, -1, false, decimalPrecise)},
			{name: "v", oid: oidText, typmod: -1, optional: true, schema: columnSchema(oidText, -1, true, decimalPrecise)},
		}}
		t.buildSchemas(tb)
		t.tables[rel] = tb
	}
	return t
}

// feed decodes messages at consecutive LSNs from lsn and returns every record returned.
func feed(t *testing.T, tk *task, lsn pglogrepl.LSN, msgs ...[]byte) []connect.SourceRecord {
	t.Helper()
	var out []connect.SourceRecord
	for i, m := range msgs {
		recs, err := tk.decode(context.Background(), pglogrepl.XLogData{WALStart: lsn + pglogrepl.LSN(i), WALData: m})
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		out = append(out, recs...)
	}
	return out
}

// describe is a record as "topic op id txblock", for comparisons.
func describe(r connect.SourceRecord) string {
	v, _ := r.Value.(*data.Struct)
	switch {
	case v == nil:
		return fmt.Sprintf("%s tombstone", r.Topic)
	case r.Topic == "srv.transaction":
		s := fmt.Sprintf("%s %s %s", r.Topic, v.Get("status"), v.Get("id"))
		if v.Get("status") == "END" {
			s += fmt.Sprintf(" %d", v.Get("event_count"))
			for _, c := range v.Get("data_collections").([]any) {
				cs := c.(*data.Struct)
				s += fmt.Sprintf(" %s=%d", cs.Get("data_collection"), cs.Get("event_count"))
			}
		}
		if k := r.Key.(*data.Struct).Get("id"); k != v.Get("id") {
			s += fmt.Sprintf(" (key id %v)", k)
		}
		return s
	}
	s := fmt.Sprintf("%s %s", r.Topic, v.Get("op"))
	if b, _ := v.Get("transaction").(*data.Struct); b != nil {
		s += fmt.Sprintf(" %s/%d/%d", b.Get("id"), b.Get("total_order"), b.Get("data_collection_order"))
	}
	return s
}

func TestTransactionMetadata(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	msgs := [][]byte{
		beginMsg(700, 200, at),                   // 100
		insertMsg(1, "1", "x"),                   // 101
		insertMsg(2, "1", "y"),                   // 102
		insertMsg(1, "2", "z"),                   // 103
		deleteMsg(2, "1"),                        // 104: and a tombstone
		updateKeyMsg(1, []string{"2"}, "3", "z"), // 105: delete, tombstone, create
		truncateMsg(2),                           // 106
		commitMsg(107, 150, at),                  // 107
	}
	cases := []struct {
		name   string
		txMeta bool
		want   []string
	}{
		{"on", true, []string{
			"srv.transaction BEGIN 700:100",
			"srv.public.a c 700:101/1/1",
			"srv.public.b c 700:102/2/1",
			"srv.public.a c 700:103/3/2",
			"srv.public.b d 700:104/4/2",
			"srv.public.b tombstone",
			"srv.public.a d 700:105/5/3",
			"srv.public.a tombstone",
			"srv.public.a c 700:105/6/4",
			"srv.public.b t 700:106/7/3",
			"srv.transaction END 700:107 7 public.a=4 public.b=3",
		}},
		{"off", false, []string{
			"srv.public.a c", "srv.public.b c", "srv.public.a c", "srv.public.b d", "srv.public.b tombstone",
			"srv.public.a d", "srv.public.a tombstone", "srv.public.a c", "srv.public.b t",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tk := testTask(tc.txMeta)
			recs := feed(t, tk, 100, msgs...)
			var got []string
			for _, r := range recs {
				got = append(got, describe(r))
				if r.SourceOffset["lsn"] != int64(150) || r.SourceOffset["txId"] != int64(700) {
					t.Errorf("%s: offset %v, want the commit's", describe(r), r.SourceOffset)
				}
				if v, ok := r.Value.(*data.Struct); ok {
					if err := v.Validate(); err != nil {
						t.Errorf("%s: %v", describe(r), err)
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("records:\n%v\nwant\n%v", got, tc.want)
			}
		})
	}
}

// TestTransactionMetadataLarge: a transaction larger than the buffer is returned in parts whose
// offset stays at the previous commit; decoding it again from the start (what a restart from
// that offset does) gives the same ids and orders and an END counting it once.
func TestTransactionMetadataLarge(t *testing.T) {
	at := time.Now()
	rows := maxTxBuffer + 100
	msgs := [][]byte{beginMsg(9, 0, at)}
	for i := range rows {
		msgs = append(msgs, insertMsg(uint32(1+i%2), strconv.Itoa(i), "v"))
	}
	msgs = append(msgs, commitMsg(0, 1_000_000, at))
	tk := testTask(true)
	tk.returnedLSN = 50 // the previous commit
	var runs [2][]string
	for run := range runs {
		recs := feed(t, tk, 100, msgs...)
		if len(recs) != rows+2 {
			t.Fatalf("run %d: %d records, want %d", run, len(recs), rows+2)
		}
		for i, r := range recs {
			wantLSN := int64(50)
			if i > maxTxBuffer-1 { // the BEGIN and the first maxTxBuffer-1 changes are the spilled part
				wantLSN = 1_000_000
			}
			if r.SourceOffset["lsn"] != wantLSN {
				t.Fatalf("run %d: record %d (%s) offset %v, want lsn %d", run, i, describe(r), r.SourceOffset, wantLSN)
			}
			runs[run] = append(runs[run], describe(r))
		}
		if end := runs[run][rows+1]; end != fmt.Sprintf("srv.transaction END 9:%d %d public.a=%d public.b=%d", 100+rows+1, rows, rows/2, rows/2) {
			t.Fatalf("run %d: %s", run, end)
		}
	}
	if fmt.Sprint(runs[0]) != fmt.Sprint(runs[1]) {
		t.Fatal("decoding the transaction again gave other ids or orders")
	}
}
