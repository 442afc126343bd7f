package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/collections-engine/collections/invoice"
)

// A customer's reply to our email (SignalReplied) goes on the timeline and,
// under the policy's pause_on_reply (on by default), holds the chase: no
// step goes out until the reply's task is completed, anyone acts on the
// invoice (an update, a note, any task completed), or reply_hold business
// days pass. The hold lives in State.ReplyHold; the main loop waits on it
// (waitOnReply) after every other interrupt, and the hooks that end it
// early are one line each in the handlers (replyActed).

// SignalReplied: the customer replied to one of our messages.
const SignalReplied = "replied"

// Replied reports a customer's reply, as stored in the communication log.
type Replied struct {
	MessageID string   // the reply's id in the communication log
	TaskID    string   // the "customer replied" task; completing it ends the hold
	From      string   // the sender's address
	Summary   string   // the first lines of the reply, without the quoted mail
	Flags     []string // triage: check_for_payment, dispute
}

// ReplyHold is a hold on the chase after a reply.
type ReplyHold struct {
	MessageID string
	TaskID    string
	Until     time.Time
	// Acted: someone acted on the invoice; the hold ends when the main loop
	// next looks.
	Acted bool
}

// changeReplyHold is the workflow.GetVersion change id of runs that take in
// customers' replies (SignalReplied). Histories recorded before it never
// hold that signal.
const changeReplyHold = "reply-hold"

// replied puts the reply on the timeline and, if the policy says so, holds
// the chase.
func (w *run) replied(ctx workflow.Context, r Replied) {
	if !w.since(ctx, revisionOne, changeReplyHold) || w.closed() {
		return
	}
	e := invoice.Event{Kind: invoice.EventReplied, Reference: r.MessageID, Detail: r.Summary, Actor: r.From}
	if len(r.Flags) > 0 {
		e.Outcome = joinFlags(r.Flags)
	}
	if w.in.Policy.PausesOnReply() {
		until := w.in.Policy.ReplyHoldUntil(workflow.Now(ctx), w.loc)
		e.Until = &until
		w.s.ReplyHold = &ReplyHold{MessageID: r.MessageID, TaskID: r.TaskID, Until: until}
		w.changed()
	}
	w.event(ctx, e)
	w.publish(ctx)
}

func joinFlags(flags []string) string {
	out := ""
	for i, f := range flags {
		if i > 0 {
			out += ","
		}
		out += f
	}
	return out
}

// replyActed notes that someone acted on the invoice while a reply holds
// the chase: the hold ends (see waitOnReply). Nothing happens without a
// hold, so runs from before changeReplyHold are untouched.
func (w *run) replyActed() {
	if w.s.ReplyHold != nil && !w.s.ReplyHold.Acted {
		w.s.ReplyHold.Acted = true
		w.changed()
	}
}

// replyTaskCompleted ends the hold when its task is completed (any task
// completed on the invoice is an action on it).
func (w *run) replyTaskCompleted(TaskCompleted) { w.replyActed() }

// waitOnReply holds the chase until the hold passes or someone acts.
func (w *run) waitOnReply(ctx workflow.Context) error {
	h := w.s.ReplyHold
	if h.Acted {
		w.endReplyHold(ctx, "answered")
		return nil
	}
	w.setNext(ctx, "reply-hold", "on hold: the customer replied", h.Until, nil)
	reached, err := w.sleepUntil(ctx, h.Until, "hold after the customer's reply")
	if err != nil {
		return err
	}
	if reached && w.s.ReplyHold == h {
		w.endReplyHold(ctx, "hold passed")
	}
	return nil // otherwise the loop looks again: acted, or another interrupt
}

func (w *run) endReplyHold(ctx workflow.Context, why string) {
	w.s.ReplyHold = nil
	w.event(ctx, invoice.Event{Kind: invoice.EventResumed, Detail: "reply hold ended: " + why})
	w.changed()
	w.publish(ctx)
}
