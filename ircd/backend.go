package ircd

import (
	"errors"
	"time"

	"github.com/thorchat/thorchat/record"
)

// Backend is the one seam between ircd and its host: everything the IRC
// state machine needs from outside itself (accounts and SASL, account
// names, nick ownership, device credentials, linked keys, operators and
// bans, accept lists, kept user modes, registered channels, reloads,
// metrics) goes through it. The host
// implements it in one place (package accounts); ircd never looks for
// more by type assertion.
//
// Optional parts are announced by Features: ircd offers a feature only
// when the backend has it and never calls the methods of a missing one.
// NoBackend implements every method as "not enabled"; embed it to provide
// only some parts.
//
// Methods marked "memory" are called on the processing goroutine and must
// answer from memory. The others may be slow (disk, bcrypt, signatures):
// ircd calls them only off its event loop, through the async pool or a
// lane (see offloop.go), so they may block but must be safe for
// concurrent use.
type Backend interface {
	// Features reports which optional parts the backend provides (memory).
	Features() Features

	// Observer returns where ircd sends its counts for metrics (memory;
	// asked once, at New; nil: nowhere). See Observer for its contract.
	Observer() Observer

	// Mechanisms lists the SASL mechanisms offered, in CAP LS order
	// (memory; FeatureAccounts).
	Mechanisms() []string
	// Start begins a SASL exchange on a connection that arrived on l and
	// is logged in as account ("" for none); ok is false for an unknown
	// mechanism (memory). The session's Step is slow. A session must not
	// create an account for another login on a connection already logged
	// in (ErrAlreadyLoggedIn).
	Start(mech string, l Listener, account string) (sess SASLSession, ok bool)
	// RequireLogin turns away clients that register without logging in
	// (memory).
	RequireLogin() bool
	// Classify returns the current tag and privileges of an account, used
	// again when the allowlist is reloaded (memory).
	Classify(account string) Login
	// ParseAccount reports whether s is a valid account name and returns
	// it in its stored form (memory; ircd does no bech32 or crypto). Nicks
	// that parse are refused (432), and "account or nick" arguments that
	// parse always mean the account.
	ParseAccount(s string) (account string, ok bool)
	// NickOwner returns the account a folded nick is claimed by (memory).
	NickOwner(folded string) (account string, ok bool)
	// ClaimNick claims a folded nick for an account (ErrNickTaken when
	// another owns it); ReleaseNick undoes it.
	ClaimNick(folded, account string) error
	ReleaseNick(folded, account string) error

	// AcceptAdd, AcceptDel keep the accept list (caller ID, +g) of an
	// account; entries are accounts or folded nicks. AcceptAdd returns
	// ErrAcceptFull at max entries. The list comes back in Login.Accept.
	AcceptAdd(account, entry string, max int) error
	AcceptDel(account, entry string) error
	// SetUserModes keeps the user modes an account chose (letters of
	// record.KeptUserModes); they come back in Login.Modes.
	SetUserModes(account, modes string) error

	// Device credentials (FeatureCredentials): P-256 device keys and PLAIN
	// tokens of an account.
	AddDevice(account, label, key string, ttl time.Duration) error
	NewToken(account, label string, ttl time.Duration) (secret string, err error)
	ListCredentials(account string) ([]string, error)
	RevokeCredential(account, label string) error

	// Linked keys (FeatureKeyLinks): further secp256k1 keys that log in to
	// an account (NickServ KEY), so that the account outlives a key. Keys
	// are the opaque strings Login.Key carries, or what a user typed.
	// LinkChallenge starts linking newKey to account from a session
	// logged in with sessionKey and returns the challenge the link
	// message binds; LinkKey checks both signatures (sigOld by
	// sessionKey, sigNew by the new key) over the link message of ch and
	// stores the link; ListKeys describes the account's keys, one line
	// each; UnlinkKey removes key on behalf of sessionKey, another key of
	// the account, with revoke also all the account's device credentials,
	// and returns the removed key in the Login.Key form and how many
	// credentials were revoked.
	LinkChallenge(l Listener, account, sessionKey, newKey string) (LinkChallenge, error)
	LinkKey(l Listener, account, sessionKey string, ch LinkChallenge, sigOld, sigNew string) error
	ListKeys(account, sessionKey string) ([]string, error)
	UnlinkKey(account, sessionKey, key string, revoke bool) (removed string, revoked int, err error)

	// CheckOperPassword checks a classic OPER from a session logged in as
	// who (the zero Login for a guest): nil when the password is right.
	// An error wrapping ErrOperNotAllowed (491) or ErrTryAgain (263)
	// means the attempt was refused before any hashing; any other error
	// is a wrong password (464). Errors with a UserMessage give the
	// reason. SetBanned bans or unbans an account (FeatureOpers).
	CheckOperPassword(who Login, name, password string) error
	SetBanned(account string, banned bool) error

	// Registered channels (FeatureChannels). SaveChannels commits all
	// records in one durable transaction before it returns; DropChannel
	// of a channel that is not stored is not an error.
	LoadChannels() ([]record.Channel, error)
	SaveChannels(recs []record.Channel) error
	DropChannel(folded string) error

	// Rehash reloads what the host can reload (REHASH, SIGHUP;
	// FeatureRehash).
	Rehash() error

	// Message history (FeatureHistory; see history.go). AppendHistory
	// stores msgs and the join times in one durable group commit before
	// it returns (the history lane calls it with what queued up
	// meanwhile); it returns the indexes of messages refused as invalid
	// (not stored; the others are), or an error when nothing was stored.
	AppendHistory(msgs []record.Message, joins []record.Joined) (rejected []int, err error)
	// History answers one CHATHISTORY query (or the replay on JOIN): the
	// messages oldest first. ErrHistoryNoAccess when q.Joined finds no
	// join time to read from.
	History(q HistoryQuery) ([]record.Message, error)
	// HistoryTargets answers CHATHISTORY TARGETS.
	HistoryTargets(q TargetsQuery) ([]HistoryTarget, error)
	// HistoryMessage returns the stored message msgid (ErrHistoryNotFound).
	HistoryMessage(msgid string) (record.Message, error)
	// RedactHistory removes the text of the stored message msgid of
	// target and returns its tombstone (ErrHistoryNotFound).
	RedactHistory(target, msgid string) (record.Message, error)
	// ReadMarker and SetReadMarker keep an account's read marker on a
	// target (draft/read-marker); SetReadMarker only moves it forward and
	// returns the marker in effect.
	ReadMarker(account, target string) (time.Time, error)
	SetReadMarker(account, target string, t time.Time) (time.Time, error)
	// DropHistory deletes a target's whole history (a channel whose
	// policy became "off").
	DropHistory(target string) error
}

// Features is a set of optional Backend parts.
type Features uint8

// Optional Backend parts.
const (
	// FeatureAccounts: SASL logins, accounts and nick claims.
	FeatureAccounts Features = 1 << iota
	// FeatureCredentials: device credentials (NickServ DEVICE/TOKEN).
	FeatureCredentials
	// FeatureOpers: OPER passwords and account bans.
	FeatureOpers
	// FeatureChannels: registered channels (ChanServ), kept on disk.
	FeatureChannels
	// FeatureRehash: REHASH reloads the host's policy.
	FeatureRehash
	// FeatureKeyLinks: linked keys (NickServ KEY).
	FeatureKeyLinks
	// FeatureHistory: message history (draft/chathistory), kept on disk.
	FeatureHistory
)

// Has reports whether f includes every part of x.
func (f Features) Has(x Features) bool { return f&x == x }

// Errors of the history methods.
var (
	// ErrHistoryNotFound: no such stored message (or a reference to a
	// message that is not in the target's history).
	ErrHistoryNotFound = errors.New("no such message in history")
	// ErrHistoryNoAccess: the "joined" policy found no join time from
	// which the reader may read.
	ErrHistoryNoAccess = errors.New("no access to this history")
)

// ErrNotEnabled is what NoBackend's methods return.
var ErrNotEnabled = errors.New("not enabled on this server")

// NoBackend is a Backend without any optional part: no accounts, nothing
// kept. ircd uses it when Config.Backend is nil; embed it in a backend that
// provides only some parts.
type NoBackend struct{}

var _ Backend = NoBackend{}

// Features implements Backend: none.
func (NoBackend) Features() Features { return 0 }

// Observer implements Backend: none.
func (NoBackend) Observer() Observer { return nil }

// ParseAccount implements Backend: nothing is an account name.
func (NoBackend) ParseAccount(string) (string, bool) { return "", false }

// Mechanisms implements Backend: none.
func (NoBackend) Mechanisms() []string { return nil }

// Start implements Backend: no mechanism.
func (NoBackend) Start(string, Listener, string) (SASLSession, bool) { return nil, false }

// RequireLogin implements Backend: no.
func (NoBackend) RequireLogin() bool { return false }

// Classify implements Backend: the account with no tag.
func (NoBackend) Classify(account string) Login { return Login{Account: account} }

// NickOwner implements Backend: no nick is claimed.
func (NoBackend) NickOwner(string) (string, bool) { return "", false }

// ClaimNick implements Backend.
func (NoBackend) ClaimNick(string, string) error { return ErrNotEnabled }

// ReleaseNick implements Backend.
func (NoBackend) ReleaseNick(string, string) error { return ErrNotEnabled }

// AcceptAdd implements Backend: nothing is kept.
func (NoBackend) AcceptAdd(string, string, int) error { return nil }

// AcceptDel implements Backend: nothing is kept.
func (NoBackend) AcceptDel(string, string) error { return nil }

// SetUserModes implements Backend: nothing is kept.
func (NoBackend) SetUserModes(string, string) error { return nil }

// AddDevice implements Backend.
func (NoBackend) AddDevice(string, string, string, time.Duration) error { return ErrNotEnabled }

// NewToken implements Backend.
func (NoBackend) NewToken(string, string, time.Duration) (string, error) { return "", ErrNotEnabled }

// ListCredentials implements Backend.
func (NoBackend) ListCredentials(string) ([]string, error) { return nil, ErrNotEnabled }

// RevokeCredential implements Backend.
func (NoBackend) RevokeCredential(string, string) error { return ErrNotEnabled }

// LinkChallenge implements Backend.
func (NoBackend) LinkChallenge(Listener, string, string, string) (LinkChallenge, error) {
	return LinkChallenge{}, ErrNotEnabled
}

// LinkKey implements Backend.
func (NoBackend) LinkKey(Listener, string, string, LinkChallenge, string, string) error {
	return ErrNotEnabled
}

// ListKeys implements Backend.
func (NoBackend) ListKeys(string, string) ([]string, error) { return nil, ErrNotEnabled }

// UnlinkKey implements Backend.
func (NoBackend) UnlinkKey(string, string, string, bool) (string, int, error) {
	return "", 0, ErrNotEnabled
}

// CheckOperPassword implements Backend: never.
func (NoBackend) CheckOperPassword(Login, string, string) error { return ErrOperNotAllowed }

// SetBanned implements Backend.
func (NoBackend) SetBanned(string, bool) error { return ErrNotEnabled }

// LoadChannels implements Backend: none.
func (NoBackend) LoadChannels() ([]record.Channel, error) { return nil, nil }

// SaveChannels implements Backend.
func (NoBackend) SaveChannels([]record.Channel) error { return ErrNotEnabled }

// DropChannel implements Backend.
func (NoBackend) DropChannel(string) error { return ErrNotEnabled }

// Rehash implements Backend.
func (NoBackend) Rehash() error { return ErrNotEnabled }

// AppendHistory implements Backend: nothing is stored.
func (NoBackend) AppendHistory([]record.Message, []record.Joined) ([]int, error) {
	return nil, ErrNotEnabled
}

// History implements Backend.
func (NoBackend) History(HistoryQuery) ([]record.Message, error) { return nil, ErrNotEnabled }

// HistoryTargets implements Backend.
func (NoBackend) HistoryTargets(TargetsQuery) ([]HistoryTarget, error) { return nil, ErrNotEnabled }

// HistoryMessage implements Backend.
func (NoBackend) HistoryMessage(string) (record.Message, error) {
	return record.Message{}, ErrNotEnabled
}

// RedactHistory implements Backend.
func (NoBackend) RedactHistory(string, string) (record.Message, error) {
	return record.Message{}, ErrNotEnabled
}

// ReadMarker implements Backend.
func (NoBackend) ReadMarker(string, string) (time.Time, error) { return time.Time{}, ErrNotEnabled }

// SetReadMarker implements Backend.
func (NoBackend) SetReadMarker(string, string, time.Time) (time.Time, error) {
	return time.Time{}, ErrNotEnabled
}

// DropHistory implements Backend.
func (NoBackend) DropHistory(string) error { return ErrNotEnabled }
