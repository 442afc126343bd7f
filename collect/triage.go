package collect

import (
	"strings"
)

// Triage of a customer's emailed reply, stated as rules: data, not a
// model. The first table says which replies are automatic (logged only:
// they neither hold the chase nor make a task); the second flags human
// replies for the account manager.

// Reply flags.
const (
	FlagCheckForPayment = "check_for_payment"
	FlagDispute         = "dispute"
)

// autoReplyHeader is a header whose value marks an automatic reply.
type autoReplyHeader struct {
	Name string
	// Auto reports whether a value means automatic.
	Auto func(value string) bool
}

func present(v string) bool { return strings.TrimSpace(v) != "" }

// autoReplyHeaders: RFC 3834's Auto-Submitted (anything but "no"), and the
// headers common mail systems set on out-of-office answers.
var autoReplyHeaders = []autoReplyHeader{
	{"Auto-Submitted", func(v string) bool { return present(v) && !strings.EqualFold(strings.TrimSpace(v), "no") }},
	{"X-Autoreply", present},
	{"X-Autorespond", present},
	{"X-Auto-Response-Suppress", func(v string) bool { return strings.Contains(strings.ToLower(v), "oof") || strings.EqualFold(v, "all") }},
	{"Precedence", func(v string) bool {
		v = strings.ToLower(strings.TrimSpace(v))
		return v == "auto_reply" || v == "bulk" || v == "junk"
	}},
}

// autoReplySubjects start the subjects of out-of-office answers (compared
// in lower case).
var autoReplySubjects = []string{
	"out of office", "out of the office", "automatic reply", "auto reply", "autoreply", "auto:", "auto-reply",
	"abwesenheitsnotiz", "réponse automatique", "absence du bureau", "respuesta automática", "fuori sede",
}

// flagRule flags a reply that contains any of Words (in lower case), and
// has an attachment when NeedsAttachment.
type flagRule struct {
	Flag            string
	NeedsAttachment bool
	Words           []string
}

var flagRules = []flagRule{
	{FlagCheckForPayment, true, []string{"remittance", "paid", "payment advice", "payment confirmation", "transferred", "bank transfer", "proof of payment"}},
	{FlagDispute, false, []string{"dispute", "disputed", "incorrect", "wrong amount", "overcharged", "not received", "never received",
		"damaged", "defective", "not ordered", "did not order", "duplicate invoice", "credit note", "refuse to pay"}},
}

// Triage is what the rules say of a reply.
type Triage struct {
	AutoReply bool
	Why       string // the rule that made it automatic
	Flags     []string
}

// TriageReply applies the rules to a reply's headers (canonical names),
// subject, own text (without the quoted mail) and attachment count.
func TriageReply(headers map[string]string, subject, text string, attachments int) Triage {
	for _, h := range autoReplyHeaders {
		if v, ok := headers[h.Name]; ok && h.Auto(v) {
			return Triage{AutoReply: true, Why: h.Name + ": " + v}
		}
	}
	ls := strings.ToLower(strings.TrimSpace(subject))
	for _, re := range []string{"re:", "aw:", "fwd:", "fw:", "wg:"} { // a reply to an out-of-office is human
		if strings.HasPrefix(ls, re) {
			ls = ""
		}
	}
	for _, s := range autoReplySubjects {
		if ls != "" && strings.HasPrefix(ls, s) {
			return Triage{AutoReply: true, Why: "subject " + subject}
		}
	}
	words := strings.ToLower(subject + "\n" + text)
	var t Triage
	for _, r := range flagRules {
		if r.NeedsAttachment && attachments == 0 {
			continue
		}
		for _, w := range r.Words {
			if containsWord(words, w) {
				t.Flags = append(t.Flags, r.Flag)
				break
			}
		}
	}
	return t
}

// containsWord reports whether s contains w on word boundaries ("paid" but
// not "unpaid").
func containsWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(w)
		if (start == 0 || !isWordByte(s[start-1])) && (end == len(s) || !isWordByte(s[end])) {
			return true
		}
		i = start + 1
	}
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_' || b >= 0x80
}

// OwnText is a reply's own text: the lines before the quoted mail ("On …
// wrote:", "-----Original Message-----", "From: …" or lines quoted with >).
func OwnText(text string) string {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var out []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		lt := strings.ToLower(t)
		if strings.HasPrefix(t, ">") || strings.HasPrefix(lt, "-----original message") ||
			(strings.HasPrefix(lt, "on ") && strings.HasSuffix(lt, "wrote:")) || (strings.HasPrefix(lt, "am ") && strings.HasSuffix(lt, "schrieb:")) ||
			(strings.HasPrefix(lt, "from:") && len(out) > 0) {
			break
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
