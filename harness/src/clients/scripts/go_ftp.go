// ftpspec's go-ftp client: one action with github.com/jlaffaye/ftp, as a user's program would.
// argv: host port user password action path local_file timeout ca_file flags
// flags (comma list): ftps, ftps-implicit, disable-epsv
// A session (action "session") reads its steps from local_file, one a line: "list PATH",
// "download PATH LOCAL_FILE", "upload LOCAL_FILE PATH"; all on this one control connection.
//
// The library sets no deadline on the control connection, so each step runs under a watchdog:
// `timeout` seconds for a chunk of data or the final reply, twice that for the steps that
// exchange several commands (connect and greeting, login, EPSV/PASV and the transfer command).
// Connects also use the library's dialer timeout, and the final reply its shut timeout.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jlaffaye/ftp"
)

var (
	mu       sync.Mutex
	step     = "start"
	watchdog *time.Timer
	limit    time.Duration
)

func fail(what string, err error) {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	fmt.Fprintf(os.Stderr, "go-ftp: %s: %s\n", what, msg)
	os.Exit(1)
}

// kick starts (or restarts) the watchdog for a step of one reply or one chunk of data.
func kick(name string) { kickFor(name, 1) }

// kickFor starts (or restarts) the watchdog for a step of up to n times the limit.
func kickFor(name string, n int) {
	mu.Lock()
	step = name
	mu.Unlock()
	watchdog.Reset(time.Duration(n) * limit)
}

// kickingReader restarts the watchdog whenever the upload makes progress.
type kickingReader struct{ r io.Reader }

func (k kickingReader) Read(p []byte) (int, error) {
	kick("STOR data")
	return k.r.Read(p)
}

func main() {
	if len(os.Args) < 11 {
		fail("usage", errors.New("host port user password action path local timeout ca flags"))
	}
	a := os.Args[1:]
	host, port, user, password, action, path, local, ca := a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[8]
	secs, err := strconv.Atoi(a[7])
	if err != nil {
		fail("timeout", err)
	}
	limit = time.Duration(secs) * time.Second
	flags := map[string]bool{}
	for _, f := range strings.Split(a[9], ",") {
		if f != "" {
			flags[f] = true
		}
	}
	watchdog = time.AfterFunc(limit, func() {
		mu.Lock()
		name := step
		mu.Unlock()
		fmt.Fprintf(os.Stderr, "go-ftp: %s: timed out\n", name)
		os.Exit(1)
	})

	opts := []ftp.DialOption{
		ftp.DialWithTimeout(limit),
		ftp.DialWithShutTimeout(limit),
		ftp.DialWithDisabledEPSV(flags["disable-epsv"]),
		// LIST, as the other clients send, rather than MLSD.
		ftp.DialWithDisabledMLSD(true),
	}
	if flags["ftps"] || flags["ftps-implicit"] {
		pool := x509.NewCertPool()
		if ca != "" {
			pem, err := os.ReadFile(ca)
			if err != nil {
				fail("CA file", err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				fail("CA file", errors.New("no certificate in "+ca))
			}
		}
		// Verified against the test CA; the name checked is the address connected to.
		conf := &tls.Config{RootCAs: pool, ServerName: host}
		if flags["ftps-implicit"] {
			opts = append(opts, ftp.DialWithTLS(conf))
		} else {
			opts = append(opts, ftp.DialWithExplicitTLS(conf))
		}
	}

	kickFor("connect", 2)
	c, err := ftp.Dial(net.JoinHostPort(host, port), opts...)
	if err != nil {
		fail("connect", err)
	}
	kickFor("login", 2)
	// Login also sends FEAT, TYPE I and, under TLS, PBSZ 0 and PROT P.
	if err := c.Login(user, password); err != nil {
		fail("login", err)
	}
	switch action {
	case "download":
		download(c, path, local)
	case "upload":
		upload(c, local, path)
	case "list":
		list(c, path, local)
	case "session":
		session(c, local)
	default:
		fail("action", errors.New("unknown action "+action))
	}
	kick("QUIT")
	if err := c.Quit(); err != nil {
		fail("QUIT", err)
	}
}

func download(c *ftp.ServerConn, path, local string) {
	kickFor("RETR", 2)
	r, err := c.Retr(path)
	if err != nil {
		fail("RETR", err)
	}
	out, err := os.Create(local)
	if err != nil {
		fail("local file", err)
	}
	buf := make([]byte, 32*1024)
	for {
		kick("RETR data")
		_ = r.SetDeadline(time.Now().Add(limit))
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, err := out.Write(buf[:n]); err != nil {
				fail("local file", err)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			fail("RETR data", rerr)
		}
	}
	if err := out.Close(); err != nil {
		fail("local file", err)
	}
	kick("RETR reply")
	if err := r.Close(); err != nil {
		fail("RETR", err)
	}
}

func upload(c *ftp.ServerConn, local, path string) {
	in, err := os.Open(local)
	if err != nil {
		fail("local file", err)
	}
	kickFor("STOR", 2)
	if err := c.Stor(path, kickingReader{in}); err != nil {
		fail("STOR", err)
	}
	in.Close()
}

// list writes the listing to local, or drops it when local is "" (a session's step).
func list(c *ftp.ServerConn, path, local string) {
	kickFor("LIST", 2)
	entries, err := c.List(path)
	if err != nil {
		fail("LIST", err)
	}
	if local == "" {
		return
	}
	// The library parses LIST lines and keeps no raw text: one line per entry.
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "%s %d %s %s\n", e.Type, e.Size, e.Time.UTC().Format(time.RFC3339), e.Name)
	}
	if err := os.WriteFile(local, []byte(b.String()), 0o644); err != nil {
		fail("local file", err)
	}
}

// session runs the steps of the script file, in order, on the one connection.
func session(c *ftp.ServerConn, script string) {
	text, err := os.ReadFile(script)
	if err != nil {
		fail("script file", err)
	}
	for _, line := range strings.Split(string(text), "\n") {
		w := strings.Fields(line)
		switch {
		case len(w) == 0:
		case w[0] == "download" && len(w) == 3:
			download(c, w[1], w[2])
		case w[0] == "upload" && len(w) == 3:
			upload(c, w[1], w[2])
		case w[0] == "list" && len(w) == 2:
			list(c, w[1], "")
		default:
			fail("script file", errors.New("bad step: "+strings.TrimSpace(line)))
		}
	}
}
