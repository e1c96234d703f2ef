package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkLoginReturning measures a returning login within the LastSeen
// resolution: a read-only transaction.
func BenchmarkLoginReturning(b *testing.B) {
	db := mustOpen(b, dbPath(b), Options{})
	defer mustClose(b, db)
	const n = 1000
	populateAccounts(b, db, n)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1) % n)
			if _, created, err := db.LoginAccount(testKey(i), acctName(i), t0.Add(time.Second)); err != nil || created {
				b.Fatal(created, err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}

// BenchmarkLoginFirstTime measures account creation with fsync on, from
// many concurrent clients so that bbolt Batch coalesces commits.
func BenchmarkLoginFirstTime(b *testing.B) {
	db := mustOpen(b, dbPath(b), Options{})
	defer mustClose(b, db)
	var next atomic.Int64
	b.SetParallelism(32) // 32 × GOMAXPROCS concurrent clients
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1))
			if _, created, err := db.LoginAccount(testKey(i), acctName(i), t0); err != nil || !created {
				b.Fatal(created, err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}

// BenchmarkOpen10kAccounts1kChannels measures what the daemon does at
// start: Open (with full verification) and ListChannels.
func BenchmarkOpen10kAccounts1kChannels(b *testing.B) {
	path := dbPath(b)
	db := mustOpen(b, path, Options{NoSync: true})
	// Bulk-load in few transactions; the benchmark is about opening.
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		accts := tx.Bucket(bucketAccounts)
		for i := 0; i < 10000; i++ {
			a := Account{Name: acctName(i), PubKey: testKey(i), Created: t0, LastSeen: t0}
			if err := putAccount(accts, a); err != nil {
				return err
			}
		}
		chans := tx.Bucket(bucketChannels)
		for i := 0; i < 1000; i++ {
			rec := sampleChannel(fmt.Sprintf("#chan%05d", i))
			v, err := encodeChannel(&rec)
			if err != nil {
				return err
			}
			if err := chans.Put([]byte(rec.Name), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	mustClose(b, db)
	b.ResetTimer()
	for b.Loop() {
		db, err := Open(context.Background(), path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		chans, err := db.ListChannels()
		if err != nil || len(chans) != 1000 {
			b.Fatal(len(chans), err)
		}
		mustClose(b, db)
	}
}

func populateAccounts(b *testing.B, db *DB, n int) {
	b.Helper()
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		for i := 0; i < n; i++ {
			if err := putAccount(tx.Bucket(bucketAccounts), Account{Name: acctName(i), PubKey: testKey(i), Created: t0, LastSeen: t0}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
