package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Where deliveries may go. A subscription's URL must be https and its host
// must resolve to public addresses only: not loopback, private (10/8,
// 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16, where cloud
// metadata services answer, and fe80::/10), unspecified, multicast or
// otherwise reserved (shared CGNAT 100.64/10, benchmarking, documentation
// ranges). The check is made when the subscription is created, and again
// on the address each delivery actually dials, so a DNS answer that
// changes after the first check cannot point a delivery inside.
//
// OUTBOUND_ALLOW_HOSTS, a comma-separated list of host names and addresses
// or CIDR ranges ("localhost,127.0.0.1,10.1.0.0/16"), allows those, over
// http too: for development, tests and receivers on a private network.

// Allowed is the OUTBOUND_ALLOW_HOSTS setting, read.
type Allowed struct {
	hosts []string
	nets  []netip.Prefix
}

// AllowedFromEnv reads OUTBOUND_ALLOW_HOSTS. An entry that is neither a
// host name nor an address nor a range is an error naming it.
func AllowedFromEnv() (Allowed, error) {
	return ParseAllowed(os.Getenv("OUTBOUND_ALLOW_HOSTS"))
}

// ParseAllowed reads a comma-separated list of host names, addresses and
// CIDR ranges.
func ParseAllowed(s string) (Allowed, error) {
	var a Allowed
	for _, e := range strings.Split(s, ",") {
		e = strings.ToLower(strings.TrimSpace(e))
		switch {
		case e == "":
		case strings.Contains(e, "/"):
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return Allowed{}, fmt.Errorf("OUTBOUND_ALLOW_HOSTS: %q is not a CIDR range", e)
			}
			a.nets = append(a.nets, p.Masked())
		default:
			if ip, err := netip.ParseAddr(e); err == nil {
				a.nets = append(a.nets, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
				continue
			}
			if strings.ContainsAny(e, " :@?#") {
				return Allowed{}, fmt.Errorf("OUTBOUND_ALLOW_HOSTS: %q is not a host name, an address or a CIDR range", e)
			}
			a.hosts = append(a.hosts, strings.TrimSuffix(e, "."))
		}
	}
	return a, nil
}

// host reports whether a host name (or address, as written) is allowed.
func (a Allowed) host(h string) bool {
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	for _, x := range a.hosts {
		if x == h {
			return true
		}
	}
	if ip, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return a.addr(ip)
	}
	return false
}

func (a Allowed) addr(ip netip.Addr) bool {
	for _, p := range a.nets {
		if p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

// reserved are the ranges beyond the standard library's predicates that no
// public receiver lives in.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (CGNAT)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: may reach IPv4 inside
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001:db8::/32"), // documentation
}

// Public reports whether an address is one deliveries may reach without
// being allowed by name.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range reserved {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// ErrRefused is wrapped by every refusal of a destination.
var ErrRefused = errors.New("destination not allowed")

// CheckURL checks a subscription's URL: https (or http to an allowed
// host), no credentials, and a host that resolves to public addresses only
// (or is allowed). The error reads after the field's name ("url: ...").
func (a Allowed) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Hostname() == "" {
		return errors.New("must be an absolute https URL")
	}
	if u.User != nil {
		return errors.New("must not carry credentials; deliveries are signed instead")
	}
	host := u.Hostname()
	if a.host(host) {
		return nil
	}
	if u.Scheme != "https" {
		return fmt.Errorf("must be https (http only to a host OUTBOUND_ALLOW_HOSTS allows): %w", ErrRefused)
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if addrs, err = net.DefaultResolver.LookupNetIP(lctx, "ip", host); err != nil || len(addrs) == 0 {
			return fmt.Errorf("the host %q does not resolve", host)
		}
	}
	for _, ip := range addrs {
		if !Public(ip) && !a.addr(ip) {
			return fmt.Errorf("the host %q is %s, an address deliveries may not reach (loopback, private, link-local, multicast or reserved; OUTBOUND_ALLOW_HOSTS allows one): %w", host, ip, ErrRefused)
		}
	}
	return nil
}

// Client is the HTTP client deliveries go out with: it reads
// OUTBOUND_ALLOW_HOSTS now, checks every address it dials (redirects
// included) and the scheme of every redirect, and ignores proxy settings
// (a proxy would be the only address it dials).
func Client(timeout time.Duration) (*http.Client, error) {
	setting := os.Getenv("OUTBOUND_ALLOW_HOSTS")
	key := setting + "|" + timeout.String()
	if c, ok := clients.Load(key); ok {
		return c.(*http.Client), nil
	}
	a, err := ParseAllowed(setting)
	if err != nil {
		return nil, err
	}
	c, _ := clients.LoadOrStore(key, a.Client(timeout))
	return c.(*http.Client), nil
}

// clients keeps one client (and its pooled connections) per setting.
var clients sync.Map

// Client is the guarded client for this setting.
func (a Allowed) Client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("dialling %s: %w", address, ErrRefused)
		}
		if !Public(ap.Addr()) && !a.addr(ap.Addr()) {
			return fmt.Errorf("dialling %s: not a public address: %w", ap.Addr(), ErrRefused)
		}
		return nil
	}}
	open := &net.Dialer{Timeout: timeout}
	transport := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			// A host allowed by name may resolve to what it likes.
			if h, _, err := net.SplitHostPort(addr); err == nil && a.host(h) {
				return open.DialContext(ctx, network, addr)
			}
			return dialer.DialContext(ctx, network, addr)
		},
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          10,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{Timeout: timeout, Transport: transport, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("more than 5 redirects")
		}
		if req.URL.Scheme != "https" && !a.host(req.URL.Hostname()) {
			return fmt.Errorf("a redirect to %s: must be https: %w", req.URL.Redacted(), ErrRefused)
		}
		return nil
	}}
}
