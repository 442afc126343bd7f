package deskpage

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/keys"
)

// Sessions: a cookie naming an API key's id and an expiry, signed with the
// page's secret; signing in checks the key itself once.

func sessionMAC(secret []byte, payload string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("collections desk session\x00" + payload))
	return m.Sum(nil)
}

// sessionToken is "<key id>|<expiry unix seconds>" and its MAC, each
// base64url-encoded, joined by a dot.
func (pg *Page) sessionToken(keyID string, expires time.Time) string {
	return sessionTokenWith(pg.secret, keyID, expires)
}

func sessionTokenWith(secret []byte, keyID string, expires time.Time) string {
	payload := keyID + "|" + strconv.FormatInt(expires.Unix(), 10)
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(sessionMAC(secret, payload))
}

var errSession = errors.New("no valid session")

// checkSession returns the key a session token names when the signature
// holds, the session has not expired and the key is not revoked.
func (pg *Page) checkSession(ctx context.Context, token string) (*db.APIKey, error) {
	p64, m64, ok := strings.Cut(token, ".")
	if !ok {
		return nil, errSession
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p64)
	mac, err2 := enc.DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, sessionMAC(pg.secret, string(payload))) {
		return nil, errSession
	}
	id, exp, ok := strings.Cut(string(payload), "|")
	expires, err := strconv.ParseInt(exp, 10, 64)
	if !ok || err != nil || !pg.now().Before(time.Unix(expires, 0)) {
		return nil, errSession
	}
	key, err := pg.store.APIKeyByID(ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return nil, errSession
	}
	return key, err
}

func setSessionCookie(c echo.Context, value string, expires time.Time, maxAge int) {
	c.SetCookie(&http.Cookie{Name: deskCookie, Value: value, Path: Prefix + "/", Expires: expires, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.Scheme() == "https"})
}

// session lets a request with a valid session through; any other goes to
// the sign-in form, which brings the reader back afterwards.
func (pg *Page) session(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if ck, err := c.Cookie(deskCookie); err == nil {
			key, err := pg.checkSession(c.Request().Context(), ck.Value)
			if err == nil {
				c.Set(ctxKey, key)
				c.Set(ctxSession, ck.Value) // the forms' anti-forgery token derives from it
				return next(c)
			}
			if !errors.Is(err, errSession) {
				return pg.failure(c, err)
			}
		}
		return c.Redirect(http.StatusSeeOther, Prefix+"/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
	}
}

// localNext is where to go after signing in: a page under /desk/ only,
// never another site.
func localNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") ||
		!strings.HasPrefix(u.Path, Prefix+"/") || strings.Contains(u.Path, "..") {
		return Prefix + "/"
	}
	return next
}

type loginPage struct {
	Title   string
	Next    string
	Message string
}

func (pg *Page) loginPage(c echo.Context) error {
	next := localNext(c.QueryParam("next"))
	if ck, err := c.Cookie(deskCookie); err == nil {
		if _, err := pg.checkSession(c.Request().Context(), ck.Value); err == nil {
			return c.Redirect(http.StatusSeeOther, next)
		}
	}
	return pg.render(c, http.StatusOK, "login", loginPage{Title: "Sign in", Next: next})
}

// login checks the key from the form and opens a session.
func (pg *Page) login(c echo.Context) error {
	next := localNext(c.FormValue("next"))
	secret := strings.TrimSpace(c.FormValue("key"))
	if secret == "" {
		return pg.render(c, http.StatusBadRequest, "login", loginPage{Title: "Sign in", Next: next, Message: "key: enter an API key."})
	}
	key, err := pg.store.APIKeyByHash(c.Request().Context(), keys.Hash(secret))
	if errors.Is(err, db.ErrNotFound) {
		return pg.render(c, http.StatusUnauthorized, "login", loginPage{Title: "Sign in", Next: next,
			Message: "key: this API key is not valid or has been revoked."})
	}
	if err != nil {
		return pg.failure(c, err)
	}
	expires := pg.now().Add(SessionTTL)
	setSessionCookie(c, pg.sessionToken(key.ID, expires), expires, int(SessionTTL/time.Second))
	pg.logger().Info("signed in to the collectors' page", "key", key.Prefix, "key_name", key.Name)
	return c.Redirect(http.StatusSeeOther, next)
}

func (pg *Page) logout(c echo.Context) error {
	setSessionCookie(c, "", time.Unix(0, 0), -1)
	return c.Redirect(http.StatusSeeOther, Prefix+"/login")
}
