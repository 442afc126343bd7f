package channels

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"net/mail"
	"strings"
)

// Replies to our email find their way back through two things derived
// from our message id alone, so that a retried send carries exactly the
// same headers as the first attempt (the outbox's exactly-once rule):
//
//   - the Reply-To address, reply+<message id>.<tag>@<inbound domain>, whose
//     tag (an HMAC of the message id under the inbound secret) makes the
//     address impossible to forge for a message one has not received;
//   - the Message-ID header, <<message id>@<inbound domain>>, which mail
//     clients echo in In-Reply-To and References.
//
// Without an inbound domain neither is set and nothing changes.

// replyPrefix starts the local part of a reply-to address.
const replyPrefix = "reply+"

// tagLen is the length of the address's tag: 10 base32 characters, 50 bits.
const tagLen = 10

var tagEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func replyTag(key, messageID string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte("reply-to:" + messageID))
	return strings.ToLower(tagEncoding.EncodeToString(mac.Sum(nil))[:tagLen])
}

// ReplyAddress is the reply-to address of message messageID on domain.
func ReplyAddress(key, domain, messageID string) string {
	return replyPrefix + messageID + "." + replyTag(key, messageID) + "@" + domain
}

// MessageIDHeader is the Message-ID header of message messageID.
func MessageIDHeader(domain, messageID string) string {
	return "<" + messageID + "@" + domain + ">"
}

// ParseReplyAddress returns the message id a reply-to address of ours
// names, checking its tag; ok is false for any other address. Matching is
// case-insensitive, as mail systems may change the case of an address.
func ParseReplyAddress(key, domain, addr string) (messageID string, ok bool) {
	local, host, found := strings.Cut(strings.ToLower(strings.TrimSpace(addr)), "@")
	if !found || domain == "" || host != strings.ToLower(domain) {
		return "", false
	}
	rest, found := strings.CutPrefix(local, replyPrefix)
	if !found {
		return "", false
	}
	dot := strings.LastIndexByte(rest, '.')
	if dot <= 0 || len(rest)-dot-1 != tagLen {
		return "", false
	}
	id, tag := rest[:dot], rest[dot+1:]
	if !hmac.Equal([]byte(tag), []byte(replyTag(key, id))) {
		return "", false
	}
	return id, true
}

// ReplyTokens finds the message ids named by our reply-to addresses among
// addresses (a To or envelope list, as written in a header), in order.
func ReplyTokens(key, domain string, addresses ...string) []string {
	var out []string
	for _, list := range addresses {
		for _, a := range addressList(list) {
			if id, ok := ParseReplyAddress(key, domain, a); ok {
				out = append(out, id)
			}
		}
	}
	return out
}

// ParseMessageIDs returns the message ids of ours among the message ids of
// an In-Reply-To or References header ("<id@domain> <id2@domain>").
func ParseMessageIDs(domain, header string) []string {
	var out []string
	for _, f := range strings.Fields(header) {
		f = strings.Trim(f, "<>,")
		local, host, found := strings.Cut(f, "@")
		if found && domain != "" && strings.EqualFold(host, domain) && local != "" {
			out = append(out, local)
		}
	}
	return out
}

// addressList reads an address list leniently: as RFC 5322 when it parses,
// else as comma-separated addresses.
func addressList(list string) []string {
	if parsed, err := mail.ParseAddressList(list); err == nil {
		out := make([]string, len(parsed))
		for i, a := range parsed {
			out[i] = a.Address
		}
		return out
	}
	var out []string
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		if i := strings.LastIndexByte(part, '<'); i >= 0 {
			part = strings.TrimSuffix(part[i+1:], ">")
		}
		if part != "" {
			out = append(out, part)
		}
	}
	return out
}
