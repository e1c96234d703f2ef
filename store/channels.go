package store

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/thorchat/thorchat/record"
)

// The channel record types are the record package's: ircd builds them,
// the store encodes them as JSON.
type (
	// ChannelRecord is a registered channel (record.Channel).
	ChannelRecord = record.Channel
	// ListEntry is a ban, exception or invite-exception entry.
	ListEntry = record.ListEntry
	// AccessEntry grants an account a level on a registered channel.
	AccessEntry = record.AccessEntry
)

// Access levels of AccessEntry.Level.
const (
	AccessFounder = record.LevelFounder
	AccessOp      = record.LevelOp
	AccessVoice   = record.LevelVoice
)

func encodeChannel(rec *ChannelRecord) ([]byte, error) {
	if err := checkKey("channel name", rec.Name); err != nil {
		return nil, err
	}
	v, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encode channel: %w", err)
	}
	if len(v) > MaxRecordBytes {
		return nil, fmt.Errorf("%w: channel record is %d bytes, limit %d", ErrInvalid, len(v), MaxRecordBytes)
	}
	return v, nil
}

func decodeChannel(key, v []byte) (ChannelRecord, error) {
	var rec ChannelRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return ChannelRecord{}, fmt.Errorf("%w: channel %q: %v", ErrCorrupt, key, err)
	}
	if rec.Name != string(key) {
		return ChannelRecord{}, fmt.Errorf("%w: channel %q stored under key %q", ErrCorrupt, rec.Name, key)
	}
	return rec, nil
}

// PutChannel creates or replaces the registration rec.Name.
func (db *DB) PutChannel(rec ChannelRecord) error {
	return db.PutChannels([]ChannelRecord{rec})
}

// PutChannels creates or replaces several registrations in one durable
// transaction: all are written or none is.
func (db *DB) PutChannels(recs []ChannelRecord) error {
	vals := make([][]byte, len(recs))
	for i := range recs {
		v, err := encodeChannel(&recs[i])
		if err != nil {
			return fmt.Errorf("store: put channel: %w", err)
		}
		vals[i] = v
	}
	err := db.update(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketChannels)
		if err != nil {
			return err
		}
		for i := range recs {
			if err := b.Put([]byte(recs[i].Name), vals[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: put %d channel(s): %w", len(recs), err)
	}
	return nil
}

// GetChannel returns the registration of folded, or ErrNotFound.
func (db *DB) GetChannel(folded string) (ChannelRecord, error) {
	if err := checkKey("channel name", folded); err != nil {
		return ChannelRecord{}, err
	}
	var rec ChannelRecord
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketChannels)
		if err != nil {
			return err
		}
		v := b.Get([]byte(folded))
		if v == nil {
			return ErrNotFound
		}
		rec, err = decodeChannel([]byte(folded), v)
		return err
	})
	if err != nil {
		return ChannelRecord{}, fmt.Errorf("store: get channel %q: %w", folded, err)
	}
	return rec, nil
}

// DeleteChannel removes the registration of folded, or returns ErrNotFound.
func (db *DB) DeleteChannel(folded string) error {
	if err := checkKey("channel name", folded); err != nil {
		return err
	}
	err := db.update(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketChannels)
		if err != nil {
			return err
		}
		if b.Get([]byte(folded)) == nil {
			return ErrNotFound
		}
		return b.Delete([]byte(folded))
	})
	if err != nil {
		return fmt.Errorf("store: delete channel %q: %w", folded, err)
	}
	return nil
}

// ListChannels returns every registration, sorted by folded name.
func (db *DB) ListChannels() ([]ChannelRecord, error) {
	var out []ChannelRecord
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketChannels)
		if err != nil {
			return err
		}
		out = make([]ChannelRecord, 0, b.Stats().KeyN)
		return b.ForEach(func(k, v []byte) error {
			rec, err := decodeChannel(k, v)
			if err != nil {
				return err
			}
			out = append(out, rec)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: list channels: %w", err)
	}
	return out, nil
}

// UpdateChannel reads the registration of folded, calls fn on it and
// writes the result, all in one transaction: concurrent updates never lose
// each other's changes. If fn returns an error nothing is written and the
// error is returned wrapped. fn must not change Name and must be quick (it
// runs under the database write lock) and must not call the DB.
// ErrNotFound if the channel is not registered (fn is not called).
func (db *DB) UpdateChannel(folded string, fn func(*ChannelRecord) error) error {
	if err := checkKey("channel name", folded); err != nil {
		return err
	}
	err := db.update(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketChannels)
		if err != nil {
			return err
		}
		old := b.Get([]byte(folded))
		if old == nil {
			return ErrNotFound
		}
		rec, err := decodeChannel([]byte(folded), old)
		if err != nil {
			return err
		}
		if err := fn(&rec); err != nil {
			return err
		}
		if rec.Name != folded {
			return fmt.Errorf("%w: update may not rename the channel (%q)", ErrInvalid, rec.Name)
		}
		v, err := encodeChannel(&rec)
		if err != nil {
			return err
		}
		return b.Put([]byte(folded), v)
	})
	if err != nil {
		return fmt.Errorf("store: update channel %q: %w", folded, err)
	}
	return nil
}
