package ircd

import (
	"sort"
	"strings"
	"time"

	"gopkg.in/irc.v4"

	"github.com/thorchat/thorchat/record"
)

const chanServ = "ChanServ"

func (s *Server) handleChanServCommand(c *Client, m *irc.Message) {
	s.chanServ(c, strings.Join(m.Params, " "))
}

// chanServ handles REGISTER, ACCESS ADD/DEL/LIST, DROP, INFO and HELP for
// channel registration.
func (s *Server) chanServ(c *Client, text string) {
	say := func(t string) { s.serviceNotice(c, chanServ, t) }
	f := strings.Fields(text)
	if len(f) == 0 {
		f = []string{"HELP"}
	}
	if !s.has(FeatureChannels) {
		say("Channel registration is not enabled on this server.")
		return
	}
	if c.busy > 0 {
		say("Your previous request is still running; try again in a moment.")
		return
	}
	cmd := strings.ToUpper(f[0])
	if cmd == "HELP" || len(f) < 2 {
		say("ChanServ commands: REGISTER #channel, ACCESS #channel ADD <account|nick> <op|voice>, ACCESS #channel DEL <account|nick>, ACCESS #channel LIST, SET #channel HISTORY <world|joined|off|default>, INFO #channel, DROP #channel.")
		return
	}
	ch := s.st.channels[Fold(f[1])]
	if ch == nil {
		say("No such channel: " + f[1])
		return
	}
	level := ch.access[c.account]
	if c.account == "" {
		level = ""
	}
	switch cmd {
	case "REGISTER":
		switch {
		case c.account == "":
			say("You must be logged in (SASL) to register a channel.")
		case ch.registered:
			say(ch.name + " is already registered.")
		case ch.members[c]&memberOp == 0 && !c.oper:
			say("You must be a channel operator of " + ch.name + " to register it.")
		default:
			if why := s.registerRefusal(c); why != "" {
				say(why)
				return
			}
			if o := s.lookalike(ch, ch.name); o != nil {
				say(ch.name + " looks too much like the registered channel " + o.name + " to be registered.")
				return
			}
			ch.registered = true
			ch.permanent = true
			ch.founder = c.account
			ch.registeredAt = s.clock.Now()
			ch.access = map[string]string{c.account: LevelFounder}
			s.persist(c, ch, func(err error) {
				if err != nil {
					// not on disk, so not registered: undo, or the
					// channel would act registered until a restart
					if ch.registered && ch.founder == c.account {
						ch.registered, ch.permanent, ch.founder, ch.access = false, false, "", nil
						if len(ch.members) == 0 {
							s.forgetChannel(ch)
						}
					}
					say("Could not register " + ch.name + ": " + userError(err))
					return
				}
				say(ch.name + " is now registered to " + c.account + ". Its modes, topic and lists are kept across restarts.")
			})
		}
	case "INFO":
		if !ch.registered {
			say(ch.name + " is not registered.")
			return
		}
		modes, _ := ch.modeString(false)
		founder := ch.founder
		if founder == "" {
			founder = "(server configuration)"
		}
		say(ch.name + ": founder " + founder + ", registered " + ch.registeredAt.UTC().Format(time.RFC1123) + ", modes " + modes + ".")
	case "DROP":
		if !ch.registered {
			say(ch.name + " is not registered.")
			return
		}
		if level != LevelFounder && !c.oper {
			say("Only the founder of " + ch.name + " may drop it.")
			return
		}
		if ch.declared != nil {
			say(ch.name + " is declared in the server configuration and cannot be dropped.")
			return
		}
		ch.registered, ch.founder, ch.access = false, "", nil
		ch.permanent = false
		folded := ch.folded
		s.writeChannel(c, chanWrite{drop: folded}, func(err error) {
			if err != nil {
				say("Could not drop " + ch.name + ": " + userError(err))
				return
			}
			say(ch.name + " is no longer registered.")
			if len(ch.members) == 0 && !ch.registered {
				s.forgetChannel(ch)
			}
		})
	case "ACCESS":
		s.chanServAccess(c, ch, level, f[2:], say)
	case "SET":
		s.chanServSet(c, ch, level, f[2:], say)
	default:
		say("Unknown command " + cmd + ". Try HELP.")
	}
}

func (s *Server) chanServAccess(c *Client, ch *Channel, level string, args []string, say func(string)) {
	if !ch.registered {
		say(ch.name + " is not registered.")
		return
	}
	if len(args) == 0 || strings.ToUpper(args[0]) == "LIST" {
		if level == "" && !c.oper {
			say("You have no access to " + ch.name + ".")
			return
		}
		var lines []string
		for acct, lvl := range ch.access {
			lines = append(lines, acct+" "+lvl)
		}
		sort.Strings(lines)
		for _, l := range lines {
			say(ch.name + " " + l)
		}
		say("End of " + ch.name + " access list.")
		return
	}
	sub := strings.ToUpper(args[0])
	if len(args) < 2 {
		say("Usage: ACCESS " + ch.name + " ADD <account|nick> <op|voice> | DEL <account|nick> | LIST")
		return
	}
	target, guest := s.resolveAccount(args[1])
	if guest != "" {
		target = guest
	}
	if !validNick(target, 128) {
		say("Not an account or nick: " + args[1])
		return
	}
	mayEdit := func(lvl string) bool {
		return c.oper || level == LevelFounder || (level == LevelOp && lvl == LevelVoice)
	}
	switch sub {
	case "ADD":
		if len(args) < 3 {
			say("Usage: ACCESS " + ch.name + " ADD <account|nick> <op|voice>")
			return
		}
		lvl := strings.ToLower(args[2])
		if lvl != LevelOp && lvl != LevelVoice {
			say("The level must be op or voice.")
			return
		}
		// an op may not change another op's entry (demote a peer) either
		if cur, has := ch.access[target]; !mayEdit(lvl) || cur == LevelFounder || has && !mayEdit(cur) {
			say("You may not give " + lvl + " access on " + ch.name + ".")
			return
		}
		if guest != "" {
			say(guest + " is not logged in; access belongs to accounts.")
			return
		}
		if _, exists := ch.access[target]; !exists && len(ch.access) >= s.lim.MaxListEntries {
			say("The access list of " + ch.name + " is full.")
			return
		}
		ch.access[target] = lvl
		s.persist(c, ch, func(err error) {
			if err != nil {
				say("Could not save: " + userError(err))
				return
			}
			say(target + " now has " + lvl + " access on " + ch.name + ".")
			s.applyAccessAll(ch)
		})
	case "DEL":
		lvl, ok := ch.access[target]
		if !ok {
			say(target + " has no access on " + ch.name + ".")
			return
		}
		if lvl == LevelFounder || !mayEdit(lvl) {
			say("You may not remove " + target + " from " + ch.name + ".")
			return
		}
		delete(ch.access, target)
		s.persist(c, ch, func(err error) {
			if err != nil {
				say("Could not save: " + userError(err))
				return
			}
			say(target + " no longer has access on " + ch.name + ".")
		})
	default:
		say("Usage: ACCESS " + ch.name + " ADD|DEL|LIST …")
	}
}

// accessMode returns the member mode an account's access level gives.
func (ch *Channel) accessMode(account string) memberMode {
	if account == "" || !ch.registered {
		return 0
	}
	switch ch.access[account] {
	case LevelFounder, LevelOp:
		return memberOp
	case LevelVoice:
		return memberVoice
	}
	return 0
}

// applyAccess gives c the modes its access level grants in ch.
func (s *Server) applyAccess(ch *Channel, c *Client) {
	want := ch.accessMode(c.account)
	have := ch.members[c]
	add := want &^ have
	if add == 0 {
		return
	}
	ch.members[c] = have | add
	letters, args := "+", []string{}
	if add&memberOp != 0 {
		letters += "o"
		args = append(args, c.nick)
	}
	if add&memberVoice != 0 {
		letters += "v"
		args = append(args, c.nick)
	}
	msg := newOutMsg(s.clock.Now(), line(chanServ+"!services@"+s.name, "MODE", append([]string{ch.name, letters}, args...)...))
	ch.broadcast(msg, nil, 0)
}

func (s *Server) applyAccessAll(ch *Channel) {
	for m := range ch.members {
		s.applyAccess(ch, m)
	}
}

// chanServSet handles "SET #channel HISTORY world|joined|off|default": the
// founder (or an IRC operator) sets who may read the channel's history.
// Turning it off also deletes what is stored.
func (s *Server) chanServSet(c *Client, ch *Channel, level string, args []string, say func(string)) {
	if len(args) < 2 || strings.ToUpper(args[0]) != "HISTORY" {
		say("Usage: SET " + ch.name + " HISTORY <world|joined|off|default>")
		return
	}
	if !ch.registered {
		say(ch.name + " is not registered.")
		return
	}
	if level != LevelFounder && !c.oper {
		say("Only the founder of " + ch.name + " may change its history setting.")
		return
	}
	p := strings.ToLower(args[1])
	if p == "default" {
		p = ""
	}
	if p == "" && args[1] == "" || !record.ValidHistoryPolicy(p) {
		say("The history setting must be world, joined, off or default.")
		return
	}
	old := ch.history
	ch.history = p
	s.persist(c, ch, func(err error) {
		if err != nil {
			ch.history = old
			say("Could not save: " + userError(err))
			return
		}
		shown := ch.historyPolicy()
		say("History of " + ch.name + " is now " + shown + ".")
		if shown == record.HistoryOff && s.historyOn() {
			target := record.ChannelTarget(ch.folded)
			s.async(c, func() func() {
				err := s.be.DropHistory(target)
				return func() {
					if err != nil {
						say("Could not delete the stored history of " + ch.name + ": " + userError(err))
						return
					}
					say("The stored history of " + ch.name + " was deleted.")
				}
			})
		}
	})
}
