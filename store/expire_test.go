package store

import (
	"errors"
	"testing"
	"time"
)

// TestExpireAccounts: only accounts that hold nothing and were not seen
// since the cut-off go; the scan is bounded and resumes where it stopped.
func TestExpireAccounts(t *testing.T) {
	db := mustOpen(t, dbPath(t), Options{NoSync: true})
	defer mustClose(t, db)
	old, recent := t0, t0.Add(48*time.Hour)
	cut := t0.Add(24 * time.Hour)
	cases := []struct {
		name  string
		seen  time.Time
		setup func(acct string) error
		keep  bool // held back by the caller (tagged)
		gone  bool
	}{
		{"unused", old, nil, false, true},
		{"seen recently", recent, nil, false, false},
		{"claimed nick", old, func(a string) error { return db.ClaimNick("nick-"+a, a) }, false, false},
		{"accept list", old, func(a string) error { return db.AcceptAdd(a, "friend", 10) }, false, false},
		{"kept modes", old, func(a string) error { return db.SetUserModes(a, "g") }, false, false},
		{"banned", old, func(a string) error { _, err := db.SetAccountFlags(a, FlagBanned, 0); return err }, false, false},
		{"credential", old, func(a string) error {
			return db.AddCredential(Credential{Account: a, Label: "l", Kind: CredToken, TokenID: "x", Hash: []byte("h"), Created: old}, 5)
		}, false, false},
		{"channel founder", old, func(a string) error {
			return db.PutChannel(ChannelRecord{Name: "#f" + a[len(a)-2:], Founder: a, Registered: old})
		}, false, false},
		{"channel access", old, func(a string) error {
			return db.PutChannel(ChannelRecord{Name: "#a" + a[len(a)-2:], Founder: "thor1someoneelse", Access: []AccessEntry{{Account: a, Level: AccessOp}}})
		}, false, false},
		{"linked keys", old, func(a string) error {
			acct, err := db.GetAccount(a)
			if err != nil {
				return err
			}
			return db.LinkKey(a, acct.PubKey, testPub(0x77), "thor1linkedkey", 8, old)
		}, false, false},
		{"tagged", old, nil, true, false},
		{"unused too", old, nil, false, true},
	}
	kept := map[string]bool{}
	for i, tc := range cases {
		a := mustLogin(t, db, i, tc.seen).Name
		if tc.setup != nil {
			if err := tc.setup(a); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
		}
		kept[a] = tc.keep
	}
	keep := func(name string) bool { return kept[name] }
	// passes of at most 4 accounts walk the whole bucket
	total, after, passes := 0, "", 0
	for {
		n, next, err := db.ExpireAccounts(cut, after, 4, keep)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		passes++
		if next == "" {
			break
		}
		after = next
	}
	if passes != 3 || total != 2 {
		t.Fatalf("%d passes removed %d, want 3 passes removing 2", passes, total)
	}
	for i, tc := range cases {
		_, err := db.GetAccount(acctName(i))
		if gone := errors.Is(err, ErrNotFound); gone != tc.gone {
			t.Errorf("%s: gone %v (err %v), want %v", tc.name, gone, err, tc.gone)
		}
	}
	// a login after expiry creates the account again
	if _, created, err := db.LoginAccount(testKey(0), acctName(0), recent); err != nil || !created {
		t.Fatalf("login after expiry: created %v, %v", created, err)
	}
}

// TestLoginAccountIf: mayCreate is asked only for an account that does
// not exist, and its refusal writes nothing.
func TestLoginAccountIf(t *testing.T) {
	db := mustOpen(t, dbPath(t), Options{NoSync: true})
	defer mustClose(t, db)
	refuse := errors.New("refused")
	asked := 0
	no := func() error { asked++; return refuse }
	if _, _, err := db.LoginAccountIf(testKey(1), acctName(1), t0, no); !errors.Is(err, refuse) || asked != 1 {
		t.Fatalf("new account: %v, asked %d", err, asked)
	}
	if n, _ := db.CountAccounts(); n != 0 {
		t.Fatalf("a refused creation wrote %d accounts", n)
	}
	mustLogin(t, db, 1, t0)
	if _, created, err := db.LoginAccountIf(testKey(1), acctName(1), t0.Add(time.Hour), no); err != nil || created || asked != 1 {
		t.Fatalf("returning login: created %v, %v, asked %d", created, err, asked)
	}
}
