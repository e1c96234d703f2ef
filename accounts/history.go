package accounts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/record"
	"github.com/thorchat/thorchat/store"
)

// HistoryConfig configures message history on the host side.
type HistoryConfig struct {
	// Enabled keeps history (ircd.FeatureHistory); false stores nothing.
	Enabled bool
	// Expire and PrivateExpire delete entries older than this (0: never);
	// MaxPerTarget keeps the newest this many per target (0: no limit).
	Expire        time.Duration
	PrivateExpire time.Duration
	MaxPerTarget  int
	// ExpireEvery is how often RunHistoryExpiry sweeps (default 1 min);
	// ExpireBatch bounds the entries one short write transaction deletes
	// (default 1000); one sweep deletes at most ExpireBatch*64.
	ExpireEvery time.Duration
	ExpireBatch int
}

func (h *HistoryConfig) fill() {
	if h.ExpireEvery <= 0 {
		h.ExpireEvery = time.Minute
	}
	if h.ExpireBatch <= 0 {
		h.ExpireBatch = 1000
	}
}

// historyErr maps a store error to the ircd one.
func historyErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %w", ircd.ErrHistoryNotFound, err)
	}
	return err
}

// AppendHistory implements ircd.Backend: entries that the store would
// refuse are left out (their indexes returned) so that one bad entry
// never fails the others; the rest and the join times are stored, durable
// before it returns.
func (s *Service) AppendHistory(msgs []record.Message, joins []record.Joined) ([]int, error) {
	var rejected []int
	ok := msgs
	for i := range msgs {
		if err := store.ValidateHistoryEntry(&msgs[i]); err != nil {
			if rejected == nil {
				ok = make([]record.Message, 0, len(msgs))
				ok = append(ok, msgs[:i]...)
			}
			rejected = append(rejected, i)
			continue
		}
		if rejected != nil {
			ok = append(ok, msgs[i])
		}
	}
	if len(ok) > 0 {
		if err := s.cfg.Store.AppendHistory(ok); err != nil {
			return nil, err
		}
	}
	if len(rejected) > 0 {
		s.log.Warn("history entries refused as invalid", "count", len(rejected))
	}
	if len(joins) > 0 {
		if err := s.cfg.Store.MarkJoined(joins); err != nil {
			// the messages are stored; a lost join time only narrows what
			// the account may read later
			s.log.Warn("recording join times failed", "err", err)
		}
	}
	return rejected, nil
}

func storeRef(r ircd.HistoryRef) store.HistoryRef {
	if r.MsgID != "" {
		return store.RefMsgID(r.MsgID)
	}
	return store.RefTime(r.Time)
}

// History implements ircd.Backend.
func (s *Service) History(q ircd.HistoryQuery) ([]record.Message, error) {
	sq := store.HistoryQuery{Target: q.Target, Limit: q.Limit, SkipRedacted: true}
	switch {
	case q.Events && q.Tagmsg: // every kind
	case q.Events:
		sq.Kinds = store.Kinds(store.KindPrivmsg, store.KindNotice, store.KindJoin, store.KindPart,
			store.KindQuit, store.KindKick, store.KindMode, store.KindTopic, store.KindNick)
	case q.Tagmsg:
		sq.Kinds = store.Kinds(store.KindPrivmsg, store.KindNotice, store.KindTagmsg)
	default:
		sq.Kinds = store.KindsMessages
	}
	var joined time.Time // the account's first recorded join (zero: none)
	if q.Account != "" && (q.Joined || !q.Epoch.IsZero()) {
		t, ok, err := s.cfg.Store.JoinedAt(q.Account, q.Target)
		if err != nil {
			return nil, err
		}
		if ok {
			joined = t
		}
	}
	if q.Joined {
		nb := q.JoinedSince
		if !joined.IsZero() && (nb.IsZero() || joined.Before(nb)) {
			nb = joined
		}
		if nb.IsZero() {
			return nil, ircd.ErrHistoryNoAccess
		}
		sq.NotBefore = nb
	}
	// a new channel's epoch, except for an account that was in an earlier
	// channel of that name: it reads from its first join
	if epoch := q.Epoch; !epoch.IsZero() {
		if !joined.IsZero() && joined.Before(epoch) {
			epoch = joined
		}
		if epoch.After(sq.NotBefore) {
			sq.NotBefore = epoch
		}
	}
	var out []record.Message
	var err error
	switch q.Sub {
	case ircd.HistoryLatest:
		var after store.HistoryRef
		if !q.From.IsZero() {
			after = storeRef(q.From)
		}
		out, err = s.cfg.Store.HistoryLatest(sq, after)
	case ircd.HistoryBefore:
		out, err = s.cfg.Store.HistoryBefore(sq, storeRef(q.From))
	case ircd.HistoryAfter:
		out, err = s.cfg.Store.HistoryAfter(sq, storeRef(q.From))
	case ircd.HistoryAround:
		out, err = s.cfg.Store.HistoryAround(sq, storeRef(q.From))
	case ircd.HistoryBetween:
		out, err = s.cfg.Store.HistoryBetween(sq, storeRef(q.From), storeRef(q.To))
	default:
		return nil, fmt.Errorf("accounts: unknown history query %q", q.Sub)
	}
	return out, historyErr(err)
}

// HistoryTargets implements ircd.Backend.
func (s *Service) HistoryTargets(q ircd.TargetsQuery) ([]ircd.HistoryTarget, error) {
	sq := store.TargetsQuery{Account: q.Account, From: q.From, To: q.To, Limit: q.Limit}
	if len(q.Channels) > 0 {
		sq.Channel = func(t string) bool { return q.Channels[t] }
	}
	ts, err := s.cfg.Store.HistoryTargets(sq)
	if err != nil {
		return nil, err
	}
	out := make([]ircd.HistoryTarget, len(ts))
	for i, t := range ts {
		out[i] = ircd.HistoryTarget{Target: t.Target, Peer: t.Peer, Last: t.Last}
	}
	return out, nil
}

// HistoryMessage implements ircd.Backend.
func (s *Service) HistoryMessage(msgid string) (record.Message, error) {
	m, err := s.cfg.Store.HistoryEntryByID(msgid)
	return m, historyErr(err)
}

// RedactHistory implements ircd.Backend.
func (s *Service) RedactHistory(target, msgid string) (record.Message, error) {
	m, err := s.cfg.Store.RedactHistory(target, msgid)
	return m, historyErr(err)
}

// ReadMarker implements ircd.Backend.
func (s *Service) ReadMarker(account, target string) (time.Time, error) {
	return s.cfg.Store.ReadMarker(account, target)
}

// SetReadMarker implements ircd.Backend.
func (s *Service) SetReadMarker(account, target string, t time.Time) (time.Time, error) {
	return s.cfg.Store.SetReadMarker(account, target, t)
}

// DropHistory implements ircd.Backend: the target's history is deleted in
// short transactions.
func (s *Service) DropHistory(target string) error {
	for {
		_, more, err := s.cfg.Store.DropHistory(target, s.cfg.History.ExpireBatch)
		if err != nil || !more {
			return err
		}
	}
}

// RunHistoryExpiry enforces [history] expire, private_expire and
// max_per_target until ctx ends: every ExpireEvery, in transactions of at
// most ExpireBatch deletions, so that appends never wait long.
func (s *Service) RunHistoryExpiry(ctx context.Context) {
	h := s.cfg.History
	if !h.Enabled || h.Expire <= 0 && h.PrivateExpire <= 0 && h.MaxPerTarget <= 0 {
		return
	}
	t := time.NewTicker(h.ExpireEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.ExpireHistoryOnce(ctx)
	}
}

// ExpireHistoryOnce runs one bounded expiry sweep (at most 64 short
// transactions) and returns how many entries it deleted.
func (s *Service) ExpireHistoryOnce(ctx context.Context) int {
	h := s.cfg.History
	total := 0
	for range 64 {
		n, more, err := s.cfg.Store.ExpireHistory(s.cfg.Now(), h.Expire, h.PrivateExpire, h.MaxPerTarget, h.ExpireBatch)
		if err != nil {
			s.log.Error("expire history", "err", err)
			break
		}
		total += n
		if !more || ctx.Err() != nil {
			break
		}
	}
	if total > 0 {
		s.log.Info("history expired", "entries", total)
	}
	return total
}
