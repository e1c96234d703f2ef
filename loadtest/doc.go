// Package loadtest drives a running ThorChat daemon over loopback TCP and
// measures it from outside: memory per idle registered client (from the
// server's VmRSS), registrations per second, channel fan-out throughput
// and latency, the latency of well-behaved clients while others flood
// (Flood), and SASL logins per second with real signatures (Login).
//
// Every scenario is bounded in connections, messages and time, and refuses
// any address that is not loopback. The hot paths read into one fixed
// buffer per connection, find lines with bytes.IndexByte and parse only the
// bytes they need, so the generator allocates nothing per message.
package loadtest
