package store

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// histEntry builds a PRIVMSG entry of target at t0 + sec seconds.
func histEntry(target, msgid string, sec float64) HistoryEntry {
	return HistoryEntry{
		Target:  target,
		MsgID:   msgid,
		Time:    t0.Add(time.Duration(sec * float64(time.Second))),
		Kind:    KindPrivmsg,
		Prefix:  "alice!a@node.cloak",
		Account: acctName(1),
		To:      "#Chan",
		Text:    "hello " + msgid,
	}
}

func msgids(es []HistoryEntry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.MsgID)
	}
	return out
}

func mustAppend(t testing.TB, db *DB, es ...HistoryEntry) {
	t.Helper()
	if err := db.AppendHistory(es); err != nil {
		t.Fatalf("AppendHistory: %v", err)
	}
}

func mids(from, to int) []string {
	out := []string{}
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("m%02d", i))
	}
	return out
}

// fixtureSecs are the times of m00..m09: m03, m04 and m05 share one.
var fixtureSecs = []float64{0, 1, 2, 3, 3, 3, 6, 7, 8, 9}

// historyFixture stores m00..m09 in #chan (m02 is a JOIN, m04 is later
// redacted when redact is set) in two calls, so that the equal times of
// m03/m04 (first call) and m05 (second call) straddle a commit, and x01
// in #other.
func historyFixture(t *testing.T, db *DB) {
	t.Helper()
	var es []HistoryEntry
	for i, s := range fixtureSecs {
		e := histEntry("#chan", fmt.Sprintf("m%02d", i), s)
		if i == 2 {
			e.Kind, e.Text = KindJoin, ""
		}
		es = append(es, e)
	}
	mustAppend(t, db, es[:5]...)
	mustAppend(t, db, append(es[5:], histEntry("#other", "x01", 4))...)
}

func at(sec float64) HistoryRef { return RefTime(t0.Add(time.Duration(sec * float64(time.Second)))) }

func TestHistoryQueries(t *testing.T) {
	db := mustOpen(t, dbPath(t), Options{NoSync: true})
	defer mustClose(t, db)
	historyFixture(t, db)
	if _, err := db.RedactHistory("#chan", "m04"); err != nil {
		t.Fatal(err)
	}
	q := func(limit int) HistoryQuery { return HistoryQuery{Target: "#chan", Limit: limit} }
	none := []string{}
	tests := []struct {
		name string
		run  func() ([]HistoryEntry, error)
		want []string
		err  error
	}{
		{"latest * 3", func() ([]HistoryEntry, error) { return db.HistoryLatest(q(3), HistoryRef{}) }, mids(7, 9), nil},
		{"latest * limit 1", func() ([]HistoryEntry, error) { return db.HistoryLatest(q(1), HistoryRef{}) }, mids(9, 9), nil},
		{"latest * limit 0", func() ([]HistoryEntry, error) { return db.HistoryLatest(q(0), HistoryRef{}) }, none, nil},
		{"latest * limit -1", func() ([]HistoryEntry, error) { return db.HistoryLatest(q(-1), HistoryRef{}) }, none, nil},
		{"latest * all", func() ([]HistoryEntry, error) { return db.HistoryLatest(q(100), HistoryRef{}) }, mids(0, 9), nil},
		{"latest * above MaxHistoryQuery", func() ([]HistoryEntry, error) { return db.HistoryLatest(q(MaxHistoryQuery+5), HistoryRef{}) }, mids(0, 9), nil},
		{"latest after msgid", func() ([]HistoryEntry, error) { return db.HistoryLatest(q(100), RefMsgID("m06")) }, mids(7, 9), nil},
		{"latest after msgid, limited to the newest", func() ([]HistoryEntry, error) { return db.HistoryLatest(q(2), RefMsgID("m06")) }, mids(8, 9), nil},
		{"latest after an equal-time msgid", func() ([]HistoryEntry, error) { return db.HistoryLatest(q(100), RefMsgID("m03")) }, mids(4, 9), nil},
		{"latest after timestamp excludes equal times", func() ([]HistoryEntry, error) { return db.HistoryLatest(q(100), at(3)) }, mids(6, 9), nil},
		{"latest after the newest", func() ([]HistoryEntry, error) { return db.HistoryLatest(q(100), RefMsgID("m09")) }, none, nil},
		{"latest unknown msgid", func() ([]HistoryEntry, error) { return db.HistoryLatest(q(100), RefMsgID("nope")) }, nil, ErrNotFound},
		{"latest on a target without history", func() ([]HistoryEntry, error) {
			return db.HistoryLatest(HistoryQuery{Target: "#none", Limit: 10}, HistoryRef{})
		}, none, nil},
		{"before equal-time msgid keeps storage order", func() ([]HistoryEntry, error) { return db.HistoryBefore(q(2), RefMsgID("m05")) }, mids(3, 4), nil},
		{"before timestamp excludes equal times", func() ([]HistoryEntry, error) { return db.HistoryBefore(q(10), at(3)) }, mids(0, 2), nil},
		{"before timestamp between entries", func() ([]HistoryEntry, error) { return db.HistoryBefore(q(2), at(6.5)) }, mids(5, 6), nil},
		{"before the oldest", func() ([]HistoryEntry, error) { return db.HistoryBefore(q(10), RefMsgID("m00")) }, none, nil},
		{"before a time before all", func() ([]HistoryEntry, error) { return db.HistoryBefore(q(10), RefTime(time.Unix(-5, 0))) }, none, nil},
		{"before a time after all", func() ([]HistoryEntry, error) { return db.HistoryBefore(q(3), at(1e6)) }, mids(7, 9), nil},
		{"before limit 1", func() ([]HistoryEntry, error) { return db.HistoryBefore(q(1), RefMsgID("m07")) }, mids(6, 6), nil},
		{"before needs a reference", func() ([]HistoryEntry, error) { return db.HistoryBefore(q(1), HistoryRef{}) }, nil, ErrInvalid},
		{"after equal-time msgid", func() ([]HistoryEntry, error) { return db.HistoryAfter(q(2), RefMsgID("m03")) }, mids(4, 5), nil},
		{"after timestamp excludes equal times", func() ([]HistoryEntry, error) { return db.HistoryAfter(q(10), at(3)) }, mids(6, 9), nil},
		{"after the newest", func() ([]HistoryEntry, error) { return db.HistoryAfter(q(10), RefMsgID("m09")) }, none, nil},
		{"after a time after all", func() ([]HistoryEntry, error) { return db.HistoryAfter(q(10), at(1e6)) }, none, nil},
		{"after the largest time", func() ([]HistoryEntry, error) { return db.HistoryAfter(q(10), RefTime(maxHistoryTime.Add(time.Hour))) }, none, nil},
		{"after a time before all", func() ([]HistoryEntry, error) { return db.HistoryAfter(q(2), RefTime(time.Unix(-5, 0))) }, mids(0, 1), nil},
		{"after another target's msgid", func() ([]HistoryEntry, error) { return db.HistoryAfter(q(10), RefMsgID("x01")) }, nil, ErrNotFound},
		{"after unknown msgid", func() ([]HistoryEntry, error) { return db.HistoryAfter(q(10), RefMsgID("nope")) }, nil, ErrNotFound},
		{"around centred", func() ([]HistoryEntry, error) { return db.HistoryAround(q(4), RefMsgID("m05")) }, mids(3, 6), nil},
		{"around odd limit", func() ([]HistoryEntry, error) { return db.HistoryAround(q(5), RefMsgID("m05")) }, mids(3, 7), nil},
		{"around limit 1 is the message", func() ([]HistoryEntry, error) { return db.HistoryAround(q(1), RefMsgID("m05")) }, mids(5, 5), nil},
		{"around the oldest", func() ([]HistoryEntry, error) { return db.HistoryAround(q(4), RefMsgID("m00")) }, mids(0, 3), nil},
		{"around the newest", func() ([]HistoryEntry, error) { return db.HistoryAround(q(4), RefMsgID("m09")) }, mids(6, 9), nil},
		{"around more than stored", func() ([]HistoryEntry, error) { return db.HistoryAround(q(50), RefMsgID("m02")) }, mids(0, 9), nil},
		{"around timestamp", func() ([]HistoryEntry, error) { return db.HistoryAround(q(2), at(3)) }, []string{"m02", "m03"}, nil},
		{"around unknown msgid", func() ([]HistoryEntry, error) { return db.HistoryAround(q(2), RefMsgID("nope")) }, nil, ErrNotFound},
		{"between forwards", func() ([]HistoryEntry, error) { return db.HistoryBetween(q(100), RefMsgID("m01"), RefMsgID("m06")) }, mids(2, 5), nil},
		{"between backwards", func() ([]HistoryEntry, error) { return db.HistoryBetween(q(100), RefMsgID("m06"), RefMsgID("m01")) }, mids(2, 5), nil},
		{"between forwards counts from the first", func() ([]HistoryEntry, error) { return db.HistoryBetween(q(2), RefMsgID("m01"), RefMsgID("m08")) }, mids(2, 3), nil},
		{"between backwards counts from the first", func() ([]HistoryEntry, error) { return db.HistoryBetween(q(2), RefMsgID("m08"), RefMsgID("m01")) }, mids(6, 7), nil},
		{"between timestamps exclusive", func() ([]HistoryEntry, error) { return db.HistoryBetween(q(100), at(1), at(7)) }, mids(2, 6), nil},
		{"between timestamps reversed", func() ([]HistoryEntry, error) { return db.HistoryBetween(q(100), at(7), at(1)) }, mids(2, 6), nil},
		{"between mixed", func() ([]HistoryEntry, error) { return db.HistoryBetween(q(100), at(3), RefMsgID("m08")) }, mids(6, 7), nil},
		{"between equal references", func() ([]HistoryEntry, error) { return db.HistoryBetween(q(100), RefMsgID("m03"), RefMsgID("m03")) }, none, nil},
		{"between adjacent", func() ([]HistoryEntry, error) { return db.HistoryBetween(q(100), RefMsgID("m03"), RefMsgID("m04")) }, none, nil},
		{"between a msgid and its own time", func() ([]HistoryEntry, error) { return db.HistoryBetween(q(100), RefMsgID("m04"), at(3)) }, none, nil},
		{"between all time", func() ([]HistoryEntry, error) { return db.HistoryBetween(q(3), RefTime(time.Unix(0, 0)), at(1e6)) }, mids(0, 2), nil},
		{"between unknown msgid", func() ([]HistoryEntry, error) { return db.HistoryBetween(q(3), RefMsgID("m01"), RefMsgID("zz")) }, nil, ErrNotFound},
		{"not before (joined policy)", func() ([]HistoryEntry, error) {
			return db.HistoryLatest(HistoryQuery{Target: "#chan", Limit: 100, NotBefore: t0.Add(6 * time.Second)}, HistoryRef{})
		}, mids(6, 9), nil},
		{"not before bounds before", func() ([]HistoryEntry, error) {
			return db.HistoryBefore(HistoryQuery{Target: "#chan", Limit: 100, NotBefore: t0.Add(3 * time.Second)}, RefMsgID("m07"))
		}, mids(3, 6), nil},
		{"not before bounds around", func() ([]HistoryEntry, error) {
			return db.HistoryAround(HistoryQuery{Target: "#chan", Limit: 4, NotBefore: t0.Add(6 * time.Second)}, RefMsgID("m05"))
		}, mids(6, 9), nil},
		{"not before bounds between backwards", func() ([]HistoryEntry, error) {
			return db.HistoryBetween(HistoryQuery{Target: "#chan", Limit: 100, NotBefore: t0.Add(2 * time.Second)}, RefMsgID("m07"), RefMsgID("m00"))
		}, mids(2, 6), nil},
		{"messages only (no event-playback)", func() ([]HistoryEntry, error) {
			return db.HistoryLatest(HistoryQuery{Target: "#chan", Limit: 8, Kinds: KindsMessages}, HistoryRef{})
		}, append([]string{"m01"}, mids(3, 9)...), nil},
		{"filtered entries do not count", func() ([]HistoryEntry, error) {
			return db.HistoryAfter(HistoryQuery{Target: "#chan", Limit: 2, Kinds: KindsMessages}, RefMsgID("m01"))
		}, []string{"m03", "m04"}, nil},
		{"skip redacted", func() ([]HistoryEntry, error) {
			return db.HistoryAfter(HistoryQuery{Target: "#chan", Limit: 2, SkipRedacted: true}, RefMsgID("m03"))
		}, []string{"m05", "m06"}, nil},
		{"joins only", func() ([]HistoryEntry, error) {
			return db.HistoryLatest(HistoryQuery{Target: "#chan", Limit: 10, Kinds: Kinds(KindJoin)}, HistoryRef{})
		}, []string{"m02"}, nil},
		{"invalid target", func() ([]HistoryEntry, error) {
			return db.HistoryLatest(HistoryQuery{Target: "", Limit: 1}, HistoryRef{})
		}, nil, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.run()
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ids := msgids(got); !slices.Equal(ids, tt.want) {
				t.Fatalf("got %v, want %v", ids, tt.want)
			}
			for i := 1; i < len(got); i++ {
				if got[i].Time.Before(got[i-1].Time) {
					t.Fatalf("not oldest first: %v", msgids(got))
				}
			}
		})
	}
}

func TestHistoryEntryRoundTrip(t *testing.T) {
	path := dbPath(t)
	db := mustOpen(t, path, Options{})
	base := HistoryEntry{Target: "#rt", Time: t0.Add(1234567891 * time.Nanosecond), Prefix: "bob!b@x.cloak", To: "#RT"}
	tests := []struct {
		name string
		mod  func(e *HistoryEntry)
	}{
		{"privmsg with account", func(e *HistoryEntry) { e.Kind, e.Account, e.Text = KindPrivmsg, acctName(2), "hi" }},
		{"guest notice", func(e *HistoryEntry) { e.Kind, e.Text = KindNotice, "from a guest" }},
		{"multiline", func(e *HistoryEntry) { e.Kind, e.Text = KindPrivmsg, "line one\nline two\n\nline four" }},
		{"react", func(e *HistoryEntry) {
			e.Kind, e.Tags = KindTagmsg, map[string]string{"+draft/react": "👍", "+draft/reply": "m00"}
		}},
		{"tag without value", func(e *HistoryEntry) { e.Kind, e.Tags = KindTagmsg, map[string]string{"+draft/unreact": ""} }},
		{"kick", func(e *HistoryEntry) { e.Kind, e.Params, e.Text = KindKick, []string{"victim"}, "bye" }},
		{"mode", func(e *HistoryEntry) { e.Kind, e.Params = KindMode, []string{"+ov", "a", "b"} }},
		{"empty text", func(e *HistoryEntry) { e.Kind = KindJoin }},
		{"largest", func(e *HistoryEntry) {
			e.Kind, e.Text = KindPrivmsg, strings.Repeat("x", MaxHistoryText)
			e.MsgID = strings.Repeat("i", MaxMsgIDLen)
		}},
	}
	var want []HistoryEntry
	for i, tt := range tests {
		e := base
		e.MsgID = fmt.Sprintf("rt%02d", i)
		e.Time = e.Time.Add(time.Duration(i) * time.Second)
		tt.mod(&e)
		mustAppend(t, db, e)
		e.Time = e.Time.Truncate(time.Millisecond).UTC()
		want = append(want, e)
	}
	check := func(db *DB) {
		got, err := db.HistoryLatest(HistoryQuery{Target: "#rt", Limit: 100}, HistoryRef{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("got %d entries", len(got))
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("%s:\n got %+v\nwant %+v", tests[i].name, got[i], want[i])
			}
			byID, err := db.HistoryEntryByID(want[i].MsgID)
			if err != nil || !reflect.DeepEqual(byID, want[i]) {
				t.Errorf("HistoryEntryByID(%s) = %+v, %v", want[i].MsgID, byID, err)
			}
		}
	}
	check(db)
	mustClose(t, db)
	db = mustOpen(t, path, Options{Verify: VerifyFull})
	defer mustClose(t, db)
	check(db)
	if _, err := db.HistoryEntryByID("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown msgid: %v", err)
	}
}

func TestHistoryAppendRejects(t *testing.T) {
	db := mustOpen(t, dbPath(t), Options{NoSync: true})
	defer mustClose(t, db)
	mustAppend(t, db, histEntry("#chan", "dup", 1))
	mod := func(f func(e *HistoryEntry)) []HistoryEntry {
		e := histEntry("#chan", "new", 2)
		f(&e)
		return []HistoryEntry{histEntry("#chan", "ok1", 2), e}
	}
	tests := []struct {
		name  string
		batch []HistoryEntry
	}{
		{"stored msgid", mod(func(e *HistoryEntry) { e.MsgID = "dup" })},
		{"msgid twice in one batch", mod(func(e *HistoryEntry) { e.MsgID = "ok1" })},
		{"empty msgid", mod(func(e *HistoryEntry) { e.MsgID = "" })},
		{"long msgid", mod(func(e *HistoryEntry) { e.MsgID = strings.Repeat("x", MaxMsgIDLen+1) })},
		{"no kind", mod(func(e *HistoryEntry) { e.Kind = 0 })},
		{"unknown kind", mod(func(e *HistoryEntry) { e.Kind = kindEnd })},
		{"zero time", mod(func(e *HistoryEntry) { e.Time = time.Time{} })},
		{"time before 1970", mod(func(e *HistoryEntry) { e.Time = time.Unix(-1, 0) })},
		{"empty target", mod(func(e *HistoryEntry) { e.Target = "" })},
		{"target with NUL", mod(func(e *HistoryEntry) { e.Target = "#a\x00b" })},
		{"private target out of order", mod(func(e *HistoryEntry) { e.Target = "\x00zz\x00aa" })},
		{"long text", mod(func(e *HistoryEntry) { e.Text = strings.Repeat("x", MaxHistoryText+1) })},
		{"too many params", mod(func(e *HistoryEntry) { e.Params = make([]string, MaxHistoryParams+1) })},
		{"empty tag key", mod(func(e *HistoryEntry) { e.Tags = map[string]string{"": "x"} })},
		{"huge tags", mod(func(e *HistoryEntry) { e.Tags = map[string]string{"+a": strings.Repeat("x", MaxHistoryTagBytes)} })},
		{"long account", mod(func(e *HistoryEntry) { e.Account = strings.Repeat("a", MaxKeyLen+1) })},
		{"batch too large", make([]HistoryEntry, MaxHistoryBatch+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := db.AppendHistory(tt.batch); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			// Nothing of a refused batch is stored.
			got, err := db.HistoryLatest(HistoryQuery{Target: "#chan", Limit: 10}, HistoryRef{})
			if err != nil || !slices.Equal(msgids(got), []string{"dup"}) {
				t.Fatalf("after a refused batch: %v, %v", msgids(got), err)
			}
		})
	}
	if err := db.AppendHistory(nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
}

func TestPrivateTargets(t *testing.T) {
	db := mustOpen(t, dbPath(t), Options{NoSync: true})
	defer mustClose(t, db)
	a, b, c := acctName(1), acctName(2), acctName(3)
	if PrivateTarget(a, b) != PrivateTarget(b, a) || PrivateTarget(a, b) == PrivateTarget(a, c) {
		t.Fatal("private target is not symmetric or not distinct")
	}
	if x, y, ok := ParsePrivateTarget(PrivateTarget(b, a)); !ok || x != a || y != b {
		t.Fatalf("ParsePrivateTarget = %q %q %v", x, y, ok)
	}
	if _, _, ok := ParsePrivateTarget(ChannelTarget("#chan")); ok {
		t.Fatal("a channel parsed as private")
	}
	ab := PrivateTarget(a, b)
	e1 := histEntry(PrivateTarget(a, b), "p1", 1) // a to b
	e2 := histEntry(PrivateTarget(b, a), "p2", 2) // b to a
	e2.Account, e2.Prefix, e2.To = b, "bob!b@x", "alice"
	mustAppend(t, db, e1, e2)
	for _, q := range []string{PrivateTarget(a, b), PrivateTarget(b, a)} {
		got, err := db.HistoryLatest(HistoryQuery{Target: q, Limit: 10}, HistoryRef{})
		if err != nil || !slices.Equal(msgids(got), []string{"p1", "p2"}) || got[0].Target != ab {
			t.Fatalf("either side reads the conversation: %v, %v", msgids(got), err)
		}
	}
	if got, err := db.HistoryLatest(HistoryQuery{Target: PrivateTarget(a, c), Limit: 10}, HistoryRef{}); err != nil || len(got) != 0 {
		t.Fatalf("another conversation: %v, %v", msgids(got), err)
	}
	if _, err := db.HistoryAfter(HistoryQuery{Target: PrivateTarget(a, c), Limit: 10}, RefMsgID("p1")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("msgid of another conversation: %v", err)
	}
}

func TestHistoryTargets(t *testing.T) {
	db := mustOpen(t, dbPath(t), Options{NoSync: true})
	defer mustClose(t, db)
	a, b, c := acctName(1), acctName(2), acctName(3)
	mustAppend(t, db,
		histEntry("#one", "1a", 1), histEntry("#two", "2a", 2), histEntry("#secret", "sa", 3),
		histEntry(PrivateTarget(a, b), "ab1", 4), histEntry(PrivateTarget(b, c), "bc1", 5),
		histEntry(PrivateTarget(c, a), "ca1", 6),
	)
	// Later messages move a target's latest time (and its index row).
	mustAppend(t, db, histEntry("#one", "1b", 7), histEntry(PrivateTarget(a, b), "ab2", 8))
	visible := func(target string) bool { return target != "#secret" }
	type tgt struct {
		Target, Peer string
		Sec          float64
	}
	tests := []struct {
		name string
		q    TargetsQuery
		want []tgt
	}{
		{"all of a's, forwards", TargetsQuery{Account: a, Channel: visible, From: t0, To: t0.Add(time.Hour), Limit: 10},
			[]tgt{{"#two", "", 2}, {PrivateTarget(a, c), c, 6}, {"#one", "", 7}, {PrivateTarget(a, b), b, 8}}},
		{"backwards gives the same order", TargetsQuery{Account: a, Channel: visible, From: t0.Add(time.Hour), To: t0, Limit: 10},
			[]tgt{{"#two", "", 2}, {PrivateTarget(a, c), c, 6}, {"#one", "", 7}, {PrivateTarget(a, b), b, 8}}},
		{"forwards limit counts from From", TargetsQuery{Account: a, Channel: visible, From: t0, To: t0.Add(time.Hour), Limit: 2},
			[]tgt{{"#two", "", 2}, {PrivateTarget(a, c), c, 6}}},
		{"backwards limit counts from From", TargetsQuery{Account: a, Channel: visible, From: t0.Add(time.Hour), To: t0, Limit: 2},
			[]tgt{{"#one", "", 7}, {PrivateTarget(a, b), b, 8}}},
		{"exclusive bounds", TargetsQuery{Account: a, Channel: visible, From: t0.Add(2 * time.Second), To: t0.Add(7 * time.Second), Limit: 10},
			[]tgt{{PrivateTarget(a, c), c, 6}}},
		{"only private", TargetsQuery{Account: b, From: t0, To: t0.Add(time.Hour), Limit: 10},
			[]tgt{{PrivateTarget(b, c), c, 5}, {PrivateTarget(a, b), a, 8}}},
		{"only channels, all visible", TargetsQuery{Channel: func(string) bool { return true }, From: t0, To: t0.Add(time.Hour), Limit: 10},
			[]tgt{{"#two", "", 2}, {"#secret", "", 3}, {"#one", "", 7}}},
		{"old times of a moved target are gone", TargetsQuery{Account: a, Channel: visible, From: t0, To: t0.Add(5 * time.Second), Limit: 10},
			[]tgt{{"#two", "", 2}}},
		{"limit 0", TargetsQuery{Account: a, Channel: visible, From: t0, To: t0.Add(time.Hour)}, nil},
		{"equal bounds", TargetsQuery{Account: a, Channel: visible, From: t0, To: t0, Limit: 5}, nil},
		{"unknown account", TargetsQuery{Account: acctName(9), From: t0, To: t0.Add(time.Hour), Limit: 5}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.HistoryTargets(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var g []tgt
			for _, x := range got {
				g = append(g, tgt{x.Target, x.Peer, x.Last.Sub(t0).Seconds()})
			}
			if !reflect.DeepEqual(g, tt.want) {
				t.Fatalf("got %+v\nwant %+v", g, tt.want)
			}
		})
	}
}
