// Package fakeprovider is a stand-in for SendGrid's mail send API and
// Twilio's Messages API for fault-injection tests: it answers like the real
// services, counts every message it accepted (by our message id for email,
// by recipient and body for SMS), and can be told to time out, answer 429
// or 500, or accept a message and then hang.
package fakeprovider

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Fault is what the provider does with one request.
type Fault int

const (
	OK              Fault = iota // accept and answer at once
	Timeout                      // hold the request until the client gives up; not accepted
	TooManyRequests              // answer 429; not accepted
	ServerError                  // answer 500; not accepted
	AcceptThenHang               // accept (counted), then hold the answer until the client gives up
)

func (f Fault) String() string {
	return [...]string{"ok", "timeout", "429", "500", "accept-then-hang"}[f]
}

// Server is a running fake of both providers.
type Server struct {
	URL string // base URL for SendGridConfig.BaseURL and TwilioConfig.BaseURL

	// Plan chooses the fault for the n-th request (from 1) for a message
	// key; nil accepts everything. Set it before the first request.
	Plan func(key string, n int) Fault
	// OnAccept, when set, is called after a message is counted as accepted
	// and before the answer is written (e.g. to kill the worker there).
	OnAccept func(key string)

	srv      *httptest.Server
	mu       sync.Mutex
	accepted map[string]int
	attempts map[string]int
	faults   map[Fault]int
	first    map[string]time.Time
	last     map[string]time.Time
	release  chan struct{}
}

// Start starts the fake on a free 127.0.0.1 port.
func Start() *Server {
	s := &Server{accepted: map[string]int{}, attempts: map[string]int{}, faults: map[Fault]int{},
		first: map[string]time.Time{}, last: map[string]time.Time{}, release: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/mail/send", s.sendgrid)
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", s.twilio)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	return s
}

// Close releases hanging requests and stops the server.
func (s *Server) Close() {
	close(s.release)
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Accepted is how many times each message was accepted.
func (s *Server) Accepted() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.accepted))
	for k, v := range s.accepted {
		out[k] = v
	}
	return out
}

// Attempts is how many requests arrived for key.
func (s *Server) Attempts(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[key]
}

// Span is the time between the first and the last request for key.
func (s *Server) Span(key string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[key].Sub(s.first[key])
}

// Faults counts the faults inflicted, by kind (OK included).
func (s *Server) Faults() map[Fault]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[Fault]int{}
	for k, v := range s.faults {
		out[k] = v
	}
	return out
}

func (s *Server) sendgrid(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Personalizations []struct {
			CustomArgs map[string]string `json:"custom_args"`
		} `json:"personalizations"`
		CustomArgs map[string]string `json:"custom_args"`
	}
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &body); err != nil {
		http.Error(w, `{"errors":[{"message":"bad json"}]}`, http.StatusBadRequest)
		return
	}
	key := body.CustomArgs["message_id"]
	for _, p := range body.Personalizations {
		if id := p.CustomArgs["message_id"]; id != "" {
			key = id
		}
	}
	if key == "" {
		key = "email:" + string(raw)
	}
	s.serve(w, r, key, func(n int) {
		w.Header().Set("X-Message-Id", fmt.Sprintf("sg-%s-%d", key, n))
		w.WriteHeader(http.StatusAccepted)
	})
}

func (s *Server) twilio(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	key := SMSKey(r.PostForm.Get("To"), r.PostForm.Get("Body"))
	s.serve(w, r, key, func(n int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"sid":"SM%032d","status":"queued"}`, n)
	})
}

// SMSKey is the key an SMS is counted under: its recipient and body.
func SMSKey(to, body string) string { return "sms:" + to + "\x00" + body }

func (s *Server) serve(w http.ResponseWriter, r *http.Request, key string, accept func(n int)) {
	s.mu.Lock()
	s.attempts[key]++
	n := s.attempts[key]
	now := time.Now()
	if n == 1 {
		s.first[key] = now
	}
	s.last[key] = now
	fault := OK
	if s.Plan != nil {
		fault = s.Plan(key, n)
	}
	s.faults[fault]++
	if fault == OK || fault == AcceptThenHang {
		s.accepted[key]++
	}
	total := 0
	for _, v := range s.accepted {
		total += v
	}
	s.mu.Unlock()

	switch fault {
	case OK:
		if s.OnAccept != nil {
			s.OnAccept(key)
		}
		accept(total)
	case AcceptThenHang:
		if s.OnAccept != nil {
			s.OnAccept(key)
		}
		s.hang(r)
	case Timeout:
		s.hang(r)
	case TooManyRequests:
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"errors":[{"message":"too many requests"}],"code":20429,"message":"Too Many Requests","status":429}`)
	case ServerError:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"errors":[{"message":"internal error"}],"code":20500,"message":"Internal Server Error","status":500}`)
	}
}

// hang holds the request until its client goes away or the server closes.
func (s *Server) hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.release:
	}
}

// Total is the number of accepted messages, duplicates included, and the
// number of messages accepted more than once.
func (s *Server) Total() (accepted, doubled int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.accepted {
		accepted += n
		if n > 1 {
			doubled++
		}
	}
	return accepted, doubled
}

// IsSMS reports whether key names an SMS.
func IsSMS(key string) bool { return strings.HasPrefix(key, "sms:") }
