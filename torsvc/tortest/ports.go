package tortest

import (
	"fmt"
	"net"
)

// portSet holds listening sockets on distinct free loopback ports until the
// tor that will own them is about to start, so no two nodes of one network
// are ever given the same port and the window in which another program could
// take one is as short as possible.
type portSet struct {
	ls []net.Listener
}

// reservePorts binds n distinct free TCP ports on 127.0.0.1.
func reservePorts(n int) (*portSet, error) {
	ps := &portSet{}
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			ps.release()
			return nil, fmt.Errorf("reserve a loopback port: %w", err)
		}
		ps.ls = append(ps.ls, l)
	}
	return ps, nil
}

// port returns the i-th reserved port.
func (ps *portSet) port(i int) int {
	return ps.ls[i].Addr().(*net.TCPAddr).Port
}

// release closes the i-th listener so a tor can bind the port.
func (ps *portSet) releaseOne(i int) {
	if ps.ls[i] != nil {
		_ = ps.ls[i].Close()
		ps.ls[i] = nil
	}
}

// release closes every listener still held.
func (ps *portSet) release() {
	for i := range ps.ls {
		ps.releaseOne(i)
	}
}
