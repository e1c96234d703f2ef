package main

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// loopbackAttempt connects to addr from the loopback address local, sends
// lines and returns every line the server sent until it closed the
// connection.
func loopbackAttempt(t *testing.T, addr, local, lines string) []string {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: waitFor}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Errorf("dial from %s: %v", local, err)
		return nil
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(waitFor))
	if _, err := conn.Write([]byte(lines)); err != nil {
		t.Errorf("write from %s: %v", local, err)
		return nil
	}
	var got []string
	r := bufio.NewReader(conn)
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return got
		}
		got = append(got, strings.TrimRight(l, "\r\n"))
	}
}

// TestOriginConnRateDevListener (issue 12, item 5) over the whole daemon:
// on the dev TCP listener an origin is a remote IP address for the rate of
// new connections. A client on 127.0.0.2 connecting and quitting as fast
// as it can gets origin_conn_burst connections and then "Too many new
// connections over one origin"; ten clients on other loopback addresses
// all get in during the flood, although the server-wide conn_burst is far
// below the flood's attempts, and the refusals are counted in
// thorchat_origin_refusals_total.
func TestOriginConnRateDevListener(t *testing.T) {
	const (
		originBurst = 5
		floodDials  = 120
		good        = 10
	)
	tc := newTestConfig(t)
	tc.Limits = "conn_rate = 0.1\nconn_burst = 30\norigin_conn_rate = 0.01\norigin_conn_burst = 5\n"
	d := startDaemon(t, tc.write(t))
	sock := filepath.Join(tc.Dir, "metrics.sock")
	for end := time.Now().Add(waitFor); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		} else if time.Now().After(end) {
			t.Fatalf("no metrics socket: %v", err)
		}
	}
	before, _ := scrape(t, sock)

	var (
		wg                     sync.WaitGroup
		mu                     sync.Mutex
		started                = make(chan struct{})
		attempts               int
		accepted, refused, odd int
	)
	wg.Go(func() {
		for i := range floodDials {
			got := loopbackAttempt(t, d.addr, "127.0.0.2", "NICK flood\r\nQUIT\r\n")
			last := ""
			if len(got) > 0 {
				last = got[len(got)-1]
			}
			mu.Lock()
			switch {
			case strings.HasPrefix(last, "ERROR :Closing Link: flood"), strings.HasPrefix(last, "ERROR :Closing Link: *"):
				accepted++
			case last == "ERROR :Closing Link: Too many new connections over one origin, try again later":
				refused++
			default:
				odd++
				t.Logf("flood connection ended with %q", last)
			}
			attempts++
			mu.Unlock()
			if i == 40 {
				close(started)
			}
		}
	})
	<-started // the flood has had more than conn_burst attempts
	ok := 0
	for i := range good {
		local := "127.0.0." + strconv.Itoa(3+i)
		nick := "good" + strconv.Itoa(i)
		got := loopbackAttempt(t, d.addr, local, "NICK "+nick+"\r\nUSER g 0 * :g\r\nQUIT\r\n")
		if len(got) > 0 && strings.Contains(got[0], " 001 "+nick+" ") {
			ok++
		} else {
			t.Logf("client on %s: %q", local, got)
		}
	}
	mu.Lock()
	during := attempts
	mu.Unlock()
	wg.Wait()
	if ok != good {
		t.Fatalf("%d of %d well-behaved clients got in during the flood", ok, good)
	}
	if during >= floodDials {
		t.Logf("the flood ended before the good clients did (%d attempts)", during)
	}
	// the bucket refills by 0.01 a second: at most one more in the test
	if accepted < originBurst || accepted > originBurst+1 || accepted+refused != floodDials || odd != 0 {
		t.Fatalf("flooding address: %d accepted, %d refused for its rate, %d otherwise", accepted, refused, odd)
	}
	after, _ := scrape(t, sock)
	if got := value(after, "thorchat_origin_refusals_total") - value(before, "thorchat_origin_refusals_total"); got != float64(refused) {
		t.Fatalf("thorchat_origin_refusals_total moved by %v, want %d", got, refused)
	}
}
