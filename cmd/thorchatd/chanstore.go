package main

import (
	"errors"

	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/store"
)

// chanStore adapts the bbolt store to ircd.ChannelStore (ircd never
// imports bbolt).
type chanStore struct{ db *store.DB }

func (s chanStore) LoadChannels() ([]ircd.ChannelRecord, error) {
	recs, err := s.db.ListChannels()
	if err != nil {
		return nil, err
	}
	out := make([]ircd.ChannelRecord, 0, len(recs))
	for _, r := range recs {
		name := r.DisplayName
		if ircd.Fold(name) != r.Name {
			name = r.Name
		}
		out = append(out, ircd.ChannelRecord{
			Name: name, Founder: r.Founder, Registered: r.Registered,
			Modes: r.Modes, Key: r.Key, Limit: r.Limit, JoinThrottle: r.JoinThrottle,
			Topic: r.Topic, TopicSetBy: r.TopicSetBy, TopicSetAt: r.TopicSetAt,
			Bans: listFromStore(r.Bans), Excepts: listFromStore(r.Excepts), Invex: listFromStore(r.Invex),
			Access: accessFromStore(r.Access),
		})
	}
	return out, nil
}

func (s chanStore) SaveChannels(recs []ircd.ChannelRecord) error {
	out := make([]store.ChannelRecord, len(recs))
	for i, r := range recs {
		out[i] = store.ChannelRecord{
			Name: ircd.Fold(r.Name), DisplayName: r.Name, Founder: r.Founder, Registered: r.Registered,
			Modes: r.Modes, Key: r.Key, Limit: r.Limit, JoinThrottle: r.JoinThrottle,
			Topic: r.Topic, TopicSetBy: r.TopicSetBy, TopicSetAt: r.TopicSetAt,
			Bans: listToStore(r.Bans), Excepts: listToStore(r.Excepts), Invex: listToStore(r.Invex),
			Access: accessToStore(r.Access),
		}
	}
	return s.db.PutChannels(out)
}

func (s chanStore) DropChannel(folded string) error {
	err := s.db.DeleteChannel(folded)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

func listFromStore(l []store.ListEntry) []ircd.ListEntry {
	out := make([]ircd.ListEntry, len(l))
	for i, e := range l {
		out[i] = ircd.ListEntry{Mask: e.Mask, SetBy: e.SetBy, SetAt: e.SetAt}
	}
	return out
}

func listToStore(l []ircd.ListEntry) []store.ListEntry {
	out := make([]store.ListEntry, len(l))
	for i, e := range l {
		out[i] = store.ListEntry{Mask: e.Mask, SetBy: e.SetBy, SetAt: e.SetAt}
	}
	return out
}

func accessFromStore(l []store.AccessEntry) []ircd.AccessEntry {
	out := make([]ircd.AccessEntry, len(l))
	for i, e := range l {
		out[i] = ircd.AccessEntry{Account: e.Account, Level: e.Level}
	}
	return out
}

func accessToStore(l []ircd.AccessEntry) []store.AccessEntry {
	out := make([]store.AccessEntry, len(l))
	for i, e := range l {
		out[i] = store.AccessEntry{Account: e.Account, Level: e.Level}
	}
	return out
}
