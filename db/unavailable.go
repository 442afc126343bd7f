package db

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/uptrace/bun/driver/pgdriver"
	"modernc.org/sqlite"
)

// IsUnavailable reports whether err says the database could not be reached
// or could not take the statement right now — a connection refused, reset
// or terminated, PostgreSQL shutting down or out of connections, a SQLite
// file locked by another writer past the busy timeout — rather than that the
// statement itself was wrong. Such a statement changed nothing (a failed
// transaction is rolled back) and is worth retrying later.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		code := pgErr.Field('C')
		// 08: connection exception; 57P01-57P05: admin shutdown, crash
		// shutdown, cannot connect now, database dropped, idle session
		// timeout; 53300: too many connections.
		return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "57P") || code == "53300"
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		switch liteErr.Code() & 0xff { // the primary result code
		case 5, 6, 10, 14: // SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_CANTOPEN
			return true
		}
	}
	// A server that closed the connection mid-statement.
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
