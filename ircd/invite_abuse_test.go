package ircd

import "testing"

// TestInviteOnlyOpsPassModes: in a channel without +i any member may
// INVITE, but only a channel operator's (or IRC operator's) invite gets
// past +b, +l, +j and +k; a plain member's invite passes nothing.
func TestInviteOnlyOpsPassModes(t *testing.T) {
	cases := []struct {
		name  string
		modes string // set by the op after the invitee joined once (for +b: mask)
		code  string // numeric the uninvited (or member-invited) JOIN gets
	}{
		{"ban", "+b banned!*@*", "474"},
		{"limit", "+l 2", "471"},
		{"key", "+k sekrit", "475"},
		{"join throttle", "+j 1:600", "480"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, nil)
			op := ts.connect("op")
			guest := ts.connect("guest")
			banned := ts.connect("banned")
			op.join("#c")
			guest.join("#c")
			op.send("MODE #c " + tc.modes)
			op.expect("MODE", nil)
			if tc.name == "join throttle" {
				// use up the +j budget
				third := ts.connect("third")
				third.join("#c")
			}
			guest.collect()

			// a member's invite: 341 and the INVITE arrive, but it passes nothing
			guest.expectCode("INVITE banned #c", "341")
			banned.expect("INVITE", nil)
			banned.expectCode("JOIN #c", tc.code)

			// the operator's invite passes
			op.expectCode("INVITE banned #c", "341")
			banned.expect("INVITE", nil)
			banned.join("#c")
		})
	}
}
