package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.temporal.io/sdk/converter"
)

// The codec endpoints are Temporal's codec-server protocol on the API's own
// address: POST /codec/encode and POST /codec/decode take
// {"payloads": [...]} (payloads in their protojson form) and answer the
// same shape, encrypted or decrypted with the keys the worker uses. The
// Temporal Web UI and CLI (--codec-endpoint http://api/codec) call them to
// show histories in clear. They need an API key (any role), like /v1, and
// answer browsers from CODEC_CORS_ORIGINS.

// codecPrefix is where the codec endpoints live.
const codecPrefix = "/codec/"

func (s *Server) codecRoutes(e *echo.Echo) {
	var h http.Handler
	if s.Codec != nil {
		h = converter.NewPayloadCodecHTTPHandler(s.Codec)
	}
	serve := func(c echo.Context) error {
		if h == nil {
			return notFound("payload encryption is off on this server (COLLECTIONS_CODEC): there is nothing to encode or decode")
		}
		body, err := io.ReadAll(c.Request().Body)
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Field: "body", Message: fmt.Sprintf("body: larger than %d bytes", maxErr.Limit)}
		}
		if err != nil {
			return invalid("body", "could not be read: %v", err)
		}
		if len(bytes.TrimSpace(body)) == 0 {
			return invalid("body", `a JSON object {"payloads": [...]} is required`)
		}
		// The SDK's handler speaks the protocol; its errors are plain text,
		// so they are caught here and answered in the API's JSON form.
		req := c.Request().Clone(c.Request().Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			msg := strings.TrimSpace(rec.Body.String())
			if strings.Contains(msg, "codec:") {
				return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Field: "payloads", Message: "payloads: " + msg}
			}
			return invalid("body", "not a JSON object of payloads in protojson form: %s", msg)
		}
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, rec.Body.Bytes())
	}
	e.POST(codecPrefix+"encode", serve)
	e.POST(codecPrefix+"decode", serve)
}

// codecCORS answers browsers calling the codec endpoints from the origins
// allowed (the Web UI's), preflight included: a preflight carries no key and
// is answered before authentication. Other paths are not affected.
func (s *Server) codecCORS() echo.MiddlewareFunc {
	allowed := map[string]bool{}
	for _, o := range s.CodecCORSOrigins {
		allowed[strings.TrimSuffix(strings.TrimSpace(o), "/")] = true
	}
	return middleware.CORSWithConfig(middleware.CORSConfig{
		Skipper: func(c echo.Context) bool { return !strings.HasPrefix(c.Request().URL.Path, codecPrefix) },
		// Exact origins only: no wildcards, no subdomain matching.
		AllowOriginFunc:  func(origin string) (bool, error) { return allowed[origin], nil },
		AllowMethods:     []string{http.MethodPost, http.MethodOptions},
		AllowHeaders:     []string{echo.HeaderAuthorization, echo.HeaderContentType, "X-Namespace", "Authorization-Extras"},
		AllowCredentials: true,
		MaxAge:           600,
	})
}

// codecUIRequest says whether a request to the codec endpoints comes from
// the Web UI that dev embeds (Server.CodecUIOrigin): that UI has no login,
// so it has no key to send, and anyone who can open it reads every decoded
// payload through it anyway.
func (s *Server) codecUIRequest(r *http.Request) bool {
	return s.CodecUIOrigin != "" && strings.HasPrefix(r.URL.Path, codecPrefix) &&
		r.Header.Get(echo.HeaderOrigin) == s.CodecUIOrigin
}
