package ircd

import "strings"

// accountArg reports whether arg is a valid account name of this server
// (Backend.ParseAccount) and returns it normalised. Without accounts
// nothing is an account name.
func (s *Server) accountArg(arg string) (string, bool) {
	if !s.has(FeatureAccounts) || arg == "" {
		return "", false
	}
	return s.be.ParseAccount(arg)
}

// nickIsAccountName reports whether a nick would read as an account name:
// such nicks are refused whatever nick_len is, so nobody can stand in for
// an account in "account or nick" arguments (ACCEPT, ChanServ ACCESS,
// NickServ BAN). Nicks compare folded, so the folded form is checked.
func (s *Server) nickIsAccountName(nick string) bool {
	_, ok := s.accountArg(Fold(nick))
	return ok
}

// resolveAccount turns an "account or nick" argument into the account it
// means: a valid account name is always that account, even if a nick
// spelled the same way were online; otherwise an online, logged-in nick
// means its account. guest is the nick of an online user who is not
// logged in (then account is ""). Anything else is kept as given, in
// lower case (account names are stored and compared in lower case).
func (s *Server) resolveAccount(arg string) (account, guest string) {
	if acct, ok := s.accountArg(arg); ok {
		return acct, ""
	}
	if t := s.st.nicks[Fold(arg)]; t != nil && t.registered {
		if t.account == "" {
			return "", t.nick
		}
		return t.account, ""
	}
	return strings.ToLower(arg), ""
}
