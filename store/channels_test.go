package store

import (
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func sampleChannel(name string) ChannelRecord {
	return ChannelRecord{
		Name: name, DisplayName: "#Thor", Founder: acctName(1),
		Registered: t0, Modes: "+ntk", Key: "s3cret", Limit: 50,
		Topic: "hammers", TopicSetBy: "thor", TopicSetAt: t0.Add(time.Minute),
		Bans:         []ListEntry{{Mask: "*!*@evil", SetBy: "thor", SetAt: t0}},
		Excepts:      []ListEntry{{Mask: "*!*@good", SetBy: "thor", SetAt: t0}},
		Invex:        []ListEntry{{Mask: "*!*@friend", SetBy: "loki", SetAt: t0}},
		Access:       []AccessEntry{{Account: acctName(1), Level: AccessFounder}, {Account: acctName(2), Level: AccessOp}},
		JoinThrottle: "5:10",
	}
}

func TestChannelCRUD(t *testing.T) {
	path := dbPath(t)
	db := mustOpen(t, path, Options{})
	rec := sampleChannel("#thor")
	if err := db.PutChannel(rec); err != nil {
		t.Fatal(err)
	}
	if err := db.PutChannel(ChannelRecord{Name: "#asgard", Founder: acctName(2)}); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetChannel("#thor")
	if err != nil || !reflect.DeepEqual(got, rec) {
		t.Fatalf("GetChannel = %+v, %v; want %+v", got, err, rec)
	}
	mustClose(t, db)

	db = mustOpen(t, path, Options{})
	defer mustClose(t, db)
	list, err := db.ListChannels()
	if err != nil || len(list) != 2 || list[0].Name != "#asgard" || !reflect.DeepEqual(list[1], rec) {
		t.Fatalf("ListChannels after reopen = %+v, %v", list, err)
	}
	cases := []struct {
		name string
		op   func() error
		want error
	}{
		{"get missing", func() error { _, err := db.GetChannel("#nope"); return err }, ErrNotFound},
		{"delete missing", func() error { return db.DeleteChannel("#nope") }, ErrNotFound},
		{"update missing", func() error {
			return db.UpdateChannel("#nope", func(*ChannelRecord) error { t.Error("fn called"); return nil })
		}, ErrNotFound},
		{"put empty name", func() error { return db.PutChannel(ChannelRecord{}) }, ErrInvalid},
		{"put invalid UTF-8 name", func() error { return db.PutChannel(ChannelRecord{Name: "#\xc3"}) }, ErrInvalid},
		{"put oversized", func() error {
			return db.PutChannel(ChannelRecord{Name: "#big", Topic: strings.Repeat("x", MaxRecordBytes)})
		}, ErrInvalid},
		{"update may not rename", func() error {
			return db.UpdateChannel("#thor", func(r *ChannelRecord) error { r.Name = "#other"; return nil })
		}, ErrInvalid},
		{"delete", func() error { return db.DeleteChannel("#asgard") }, nil},
		{"deleted is gone", func() error { _, err := db.GetChannel("#asgard"); return err }, ErrNotFound},
	}
	for _, c := range cases {
		if err := c.op(); !errors.Is(err, c.want) {
			t.Fatalf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if got, _ := db.GetChannel("#thor"); !reflect.DeepEqual(got, rec) {
		t.Fatalf("failed operations changed #thor: %+v", got)
	}
	if _, err := db.GetChannel("#big"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("oversized record was stored: %v", err)
	}
}

func TestUpdateChannelAtomic(t *testing.T) {
	db := mustOpen(t, dbPath(t), Options{})
	defer mustClose(t, db)
	if err := db.PutChannel(ChannelRecord{Name: "#count"}); err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 40
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for range each {
				err := db.UpdateChannel("#count", func(r *ChannelRecord) error {
					r.Limit++
					r.Bans = append(r.Bans, ListEntry{Mask: "m", SetAt: t0})
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	got, err := db.GetChannel("#count")
	if err != nil || got.Limit != workers*each || len(got.Bans) != workers*each {
		t.Fatalf("after concurrent updates: limit=%d bans=%d err=%v, want %d", got.Limit, len(got.Bans), err, workers*each)
	}
	// A failing fn writes nothing, even if it modified the record.
	boom := errors.New("boom")
	err = db.UpdateChannel("#count", func(r *ChannelRecord) error { r.Limit = -1; r.Topic = "half"; return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if got, _ := db.GetChannel("#count"); got.Limit != workers*each || got.Topic != "" {
		t.Fatalf("failed update leaked: %+v", got)
	}
}
