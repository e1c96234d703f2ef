// Package identity maps secp256k1 keys to THORChain-style accounts and
// manages the operator allowlist: key and address encodings, the allowlist
// file the daemon reads, and the import of node keys from a THORChain
// node's /thorchain/nodes JSON. It is pure: no storage, no IRC, no network.
package identity
