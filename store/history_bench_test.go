package store

import (
	"context"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"
)

// benchMsgID returns a 26-character, time-ordered base32hex msgid like
// ircd's.
func benchMsgID(t time.Time, n uint64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixNano()))
	binary.BigEndian.PutUint64(b[8:], n)
	return base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
}

// benchEntry is a realistic channel message from one of 50 senders.
func benchEntry(channel string, sender int, t time.Time, n uint64) HistoryEntry {
	return HistoryEntry{
		Target:  channel,
		MsgID:   benchMsgID(t, n),
		Time:    t,
		Kind:    KindPrivmsg,
		Prefix:  fmt.Sprintf("node-op-%02d!op@%02d.cloak.thorchat", sender, sender),
		Account: fmt.Sprintf("thor1%038d", sender),
		To:      channel,
		Text:    "block 4812345 signed; mempool 2,341 txs; peers 48/50 — all good on this side, checking the bridge next",
	}
}

// BenchmarkHistoryAppend: stored messages/s with fsync on, one
// AppendHistory (one transaction) per batch, as the lane does under load:
// 50 senders writing to 5 channels.
func BenchmarkHistoryAppend(b *testing.B) {
	for _, batch := range []int{50, 100, 500} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			path := dbPath(b)
			db := mustOpen(b, path, Options{})
			defer mustClose(b, db)
			n := uint64(0)
			es := make([]HistoryEntry, batch)
			now := t0
			for b.Loop() {
				for i := range es {
					n++
					now = now.Add(time.Millisecond)
					es[i] = benchEntry(fmt.Sprintf("#chan%d", n%5), int(n%50), now, n)
				}
				if err := db.AppendHistory(es); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
			if st, err := os.Stat(path); err == nil {
				b.ReportMetric(float64(st.Size())/float64(n), "file-bytes/msg")
			}
		})
	}
}

// build1M fills path with 1,000,000 messages in 10 channels of 100,000
// (the default max_per_target), bulk-loaded without fsync in batches of
// 10,000, plus 1,000 accounts and 100 registered channels.
func build1M(b *testing.B, path string) {
	b.Helper()
	db := mustOpen(b, path, Options{NoSync: true})
	defer mustClose(b, db)
	populateAccounts(b, db, 1000)
	for i := range 100 {
		if err := db.PutChannel(sampleChannel(fmt.Sprintf("#reg%03d", i))); err != nil {
			b.Fatal(err)
		}
	}
	const total, per = 1_000_000, 10_000
	es := make([]HistoryEntry, per)
	now := t0
	for n := uint64(0); n < total; {
		for i := range es {
			n++
			now = now.Add(time.Millisecond)
			es[i] = benchEntry(fmt.Sprintf("#chan%d", n%10), int(n%50), now, n)
		}
		if err := db.AppendHistory(es); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHistory1M: with 1,000,000 stored messages in the file, the
// latency of LATEST 100 (p50/p99), the file size per message, and Open
// (start-up) time with the default and with full verification.
func BenchmarkHistory1M(b *testing.B) {
	path := dbPath(b)
	start := time.Now()
	build1M(b, path)
	b.Logf("built 1M-message file in %v", time.Since(start))
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}

	b.Run("latest100", func(b *testing.B) {
		db := mustOpen(b, path, Options{})
		defer mustClose(b, db)
		var lat []time.Duration
		i := 0
		for b.Loop() {
			i++
			t := time.Now()
			es, err := db.HistoryLatest(HistoryQuery{Target: fmt.Sprintf("#chan%d", i%10), Limit: 100}, HistoryRef{})
			lat = append(lat, time.Since(t))
			if err != nil || len(es) != 100 {
				b.Fatal(len(es), err)
			}
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		b.ReportMetric(float64(st.Size())/1e6, "file-bytes/msg")
	})
	b.Run("before100-deep", func(b *testing.B) {
		db := mustOpen(b, path, Options{})
		defer mustClose(b, db)
		var lat []time.Duration
		i := 0
		for b.Loop() {
			i++
			ref := RefTime(t0.Add(time.Duration(1+i*7919%999_000) * time.Millisecond))
			t := time.Now()
			_, err := db.HistoryBefore(HistoryQuery{Target: fmt.Sprintf("#chan%d", i%10), Limit: 100}, ref)
			lat = append(lat, time.Since(t))
			if err != nil {
				b.Fatal(err)
			}
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	})
	for _, v := range []struct {
		name string
		mode VerifyMode
	}{{"open-default", VerifyAuto}, {"open-verify-full", VerifyFull}} {
		b.Run(v.name, func(b *testing.B) {
			for b.Loop() {
				db, err := Open(context.Background(), path, Options{Verify: v.mode})
				if err != nil {
					b.Fatal(err)
				}
				mustClose(b, db)
			}
			b.ReportMetric(float64(st.Size())/1e6, "file-bytes/msg")
		})
	}
}
