package store

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
)

type dumpDoc struct {
	Format   string          `json:"format"`
	Schema   int             `json:"schema"`
	Accounts []Account       `json:"accounts"`
	Nicks    []dumpNick      `json:"nicks"`
	Channels []ChannelRecord `json:"channels"`
	Accept   []dumpAccept    `json:"accept"`
	Creds    []Credential    `json:"credentials"`
	KeyLinks []KeyLink       `json:"key_links"`
	History  []DumpHistory   `json:"history"`
}

func dump(t *testing.T, db *DB) (raw []byte, doc dumpDoc) {
	t.Helper()
	var buf bytes.Buffer
	if err := db.Dump(&buf, DumpOptions{}); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("dump is not the documented JSON: %v\n%s", err, buf.Bytes())
	}
	return buf.Bytes(), doc
}

func TestBackupWhileWriting(t *testing.T) {
	db := mustOpen(t, dbPath(t), Options{})
	defer mustClose(t, db)
	populate(t, db, 100, 20)
	snapshot, doc := dump(t, db)
	if doc.Format != DumpFormat || doc.Schema != SchemaVersion() || len(doc.Accounts) != 100 ||
		len(doc.Channels) != 20 || len(doc.Nicks) != 15 || len(doc.Accept) != 15 {
		t.Fatalf("dump: format=%q schema=%d accounts=%d channels=%d nicks=%d accept=%d",
			doc.Format, doc.Schema, len(doc.Accounts), len(doc.Channels), len(doc.Nicks), len(doc.Accept))
	}
	if doc.Nicks[0] != (dumpNick{"nick0", acctName(0)}) || doc.Accept[0] != (dumpAccept{acctName(0), "friend"}) ||
		!reflect.DeepEqual(doc.Channels[0], sampleChannel("#chan00000")) {
		t.Fatalf("dump content: %+v %+v %+v", doc.Nicks[0], doc.Accept[0], doc.Channels[0])
	}

	// Writers keep going while the backup is taken; the backup holds a
	// consistent state: all of a transaction or none of it.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := db.UpdateChannel("#chan00000", func(r *ChannelRecord) error {
				// Committed states have Key == Topic == letter(Limit).
				r.Limit, r.Key, r.Topic = i, letter(i), letter(i)
				return nil
			}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	var backup bytes.Buffer
	n, err := db.WriteBackup(&backup)
	close(stop)
	wg.Wait()
	if err != nil || n != int64(backup.Len()) {
		t.Fatalf("WriteBackup = %d, %v (wrote %d)", n, err, backup.Len())
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(path, backup.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	bdb := mustOpen(t, path, Options{Verify: VerifyFull})
	defer mustClose(t, bdb)
	_, bdoc := dump(t, bdb)
	ch := bdoc.Channels[0]
	if !reflect.DeepEqual(ch, doc.Channels[0]) && (ch.Key != letter(ch.Limit) || ch.Topic != ch.Key) {
		t.Fatalf("backup holds a torn record: %+v", ch)
	}
	// Apart from the channel being rewritten, the backup equals the snapshot.
	bdoc.Channels[0] = doc.Channels[0]
	if !reflect.DeepEqual(bdoc, doc) {
		t.Fatalf("backup differs from the live data\nlive:   %s", snapshot)
	}
	if n, err := bdb.CountAccounts(); err != nil || n != 100 {
		t.Fatalf("backup CountAccounts = %d, %v", n, err)
	}
}

func letter(i int) string { return string(rune('a' + i%26)) }
