package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/thorchat/thorchat/store"
)

// TestChannelRegistrationLimits: ChanServ REGISTER needs an account older
// than chanserv.min_account_age (or a node-operator/staff tag, or oper
// privileges), an account registers at most chanserv.max_per_account
// channels (staff and opers: no limit), and registered channels do not
// count toward limits.max_channels, so they cannot make the server refuse
// new channels, also after a restart.
func TestChannelRegistrationLimits(t *testing.T) {
	tc := newTestConfig(t)
	veteran, newbie, staff, root := newKey(t), newKey(t), newKey(t), newKey(t)
	tc.Opers = []string{root.account}
	tc.ChanServ = "max_per_account = 2\nmin_account_age = \"1h\"\nmax_registered = 50\n"
	tc.Limits = "max_channels = 3\n"
	tc.Extra = fmt.Sprintf("[staff]\naccounts = [%q]\n", staff.account)
	// the veteran's account was created two days ago
	db, err := store.Open(context.Background(), tc.dbPath(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.LoginAccount(veteran.priv.PubKey().SerializeCompressed(), veteran.account, time.Now().Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	cfgPath := tc.write(t)
	d := startDaemon(t, cfgPath)

	v := dial(t, d.addr, "vet", veteran)
	n := dial(t, d.addr, "newbie", newbie)
	s := dial(t, d.addr, "staffer", staff)
	r := dial(t, d.addr, "root", root)
	steps := []struct {
		c    *ircClient
		ch   string
		want string
	}{
		{n, "#n1", "must be at least 1h old to register"},
		{v, "#v1", "#v1 is now registered"},
		{v, "#v2", "#v2 is now registered"},
		{v, "#v3", "registered the most channels allowed (2)"},
		{s, "#s1", "#s1 is now registered"}, // staff: no age, no per-account limit
		{s, "#s2", "#s2 is now registered"},
		{s, "#s3", "#s3 is now registered"},
		{r, "#r1", "#r1 is now registered"}, // IRC operator with a fresh account
	}
	for _, st := range steps {
		st.c.join(st.ch, "")
		st.c.expectChanServ("REGISTER "+st.ch, st.want)
		st.c.send("PART " + st.ch)
		st.c.collect()
	}
	// 6 registered channels, max_channels = 3: guests still create 3
	guestCreates := func(g *ircClient, prefix string) {
		t.Helper()
		for i := 1; i <= 3; i++ {
			g.join(fmt.Sprintf("#%s%d", prefix, i), "")
		}
		g.send("JOIN #" + prefix + "4")
		findNumeric(t, g.collect(), "405")
	}
	guestCreates(dial(t, d.addr, "guest", nil), "free")

	d.stop()
	d = startDaemon(t, cfgPath)
	v = dial(t, d.addr, "vet", veteran)
	v.join("#v4", "")
	v.expectChanServ("REGISTER #v4", "registered the most channels allowed (2)")
	v.send("PART #v4")
	v.collect()
	guestCreates(dial(t, d.addr, "guest", nil), "again")
}
