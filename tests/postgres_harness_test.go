package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgServer is a PostgreSQL server the test started: initdb and pg_ctl from Debian's packages,
// run as the postgres user when the test runs as root, on a free loopback port, with
// wal_level=logical.
type pgServer struct {
	t       *testing.T
	bin     string
	dir     string // owned by the server's user: data, socket, log
	port    int
	cred    *syscall.Credential
	logf    string
	stopped bool
}

func postgresBin(t *testing.T) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "pg_ctl")); err == nil {
			return dirs[i]
		}
	}
	requireTool(t, func() error { return fmt.Errorf("no /usr/lib/postgresql/*/bin/pg_ctl") }, "PostgreSQL (apt install postgresql)")
	return ""
}

func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	s := &pgServer{t: t, bin: postgresBin(t)}
	dir, err := os.MkdirTemp("", "sluice-pg")
	if err != nil {
		t.Fatal(err)
	}
	s.dir = dir
	t.Cleanup(func() { s.stop(); os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(dir, 0o755)
	s.logf = filepath.Join(dir, "postgres.log")
	s.run("initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	for attempt := 0; ; attempt++ {
		addr := freeAddr(t)
		s.port, _ = strconv.Atoi(addr[strings.LastIndexByte(addr, ':')+1:])
		if err := s.tryStart(); err == nil {
			break
		} else if attempt == 4 {
			t.Fatal(err)
		}
	}
	return s
}

func (s *pgServer) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	return cmd
}

func (s *pgServer) run(name string, args ...string) {
	s.t.Helper()
	if out, err := s.command(name, args...).CombinedOutput(); err != nil {
		s.t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func (s *pgServer) tryStart() error {
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c wal_level=logical -c max_wal_senders=10 -c max_replication_slots=10 -c fsync=off -c wal_sender_timeout=60s", s.port, s.dir)
	out, err := s.command("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-o", opts, "-l", s.logf, "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(s.logf)
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, tail(string(log), 20))
	}
	s.stopped = false
	return nil
}

func (s *pgServer) stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	s.command("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop").Run()
}

// restart stops the server (fast shutdown) and starts it again on the same port.
func (s *pgServer) restart() {
	s.t.Helper()
	s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "fast", "-w", "stop")
	s.stopped = true
	if err := s.tryStart(); err != nil {
		s.t.Fatal(err)
	}
}

// conn opens a connection to db (closed at the end of the test).
func (s *pgServer) conn(db string) *pgx.Conn {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db))
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// exec runs statements, failing the test on error.
func pgExec(t *testing.T, c *pgx.Conn, sqls ...string) {
	t.Helper()
	for _, q := range sqls {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := c.Exec(ctx, q)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
