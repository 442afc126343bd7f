package main

import (
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/proto"
)

// Billable actions: what one workflow run costs on Temporal Cloud, counted
// from its history as the page below says Temporal Cloud counts them
// (read on 2026-12-07; the rule is Temporal's and may change):
//
//	https://docs.temporal.io/cloud/actions
//
// The history holds most of them; what it does not hold (queries, activity
// heartbeats, workflow task heartbeats, rejected updates, schedules) is not
// counted here, and the report says so.
const actionsSource = "https://docs.temporal.io/cloud/actions"

// actionPricePerMillion is the page's pay-as-you-go price of the first 5
// million actions a month, in US dollars, as https://docs.temporal.io/cloud/pricing
// stated it when read on 2026-12-07 ("Actions pricing starts at $50 per
// million Actions"; volume tiers lower it above 5 million).
const (
	actionPricePerMillion = 50
	actionPriceSource     = "https://docs.temporal.io/cloud/pricing"
	actionPriceRead       = "2026-12-07"
)

// HistoryEvent is what the bench keeps of one history event: enough to
// count its billable actions again later, from the JSON of a run.
type HistoryEvent struct {
	ID   int64  `json:"id"`
	Type string `json:"type"` // the event type without its prefix, e.g. "TimerStarted"
	// Task is the WorkflowTaskCompleted event a command's event came from
	// (markers, upserts, timers, activities scheduled).
	Task int64 `json:"task,omitempty"`
	// Marker is a MarkerRecorded event's name (LocalActivity, Version,
	// SideEffect, MutableSideEffect).
	Marker string `json:"marker,omitempty"`
	// Attempt is an ActivityTaskStarted event's attempt (1: the first).
	Attempt int32 `json:"attempt,omitempty"`
	// Keys are the search attributes an UpsertWorkflowSearchAttributes
	// event set, sorted.
	Keys []string `json:"keys,omitempty"`
	// LocalRetries is a WorkflowTaskCompleted event's count of local
	// activity attempts after the first (its metering metadata).
	LocalRetries uint32 `json:"local_retries,omitempty"`
	// Cause is a WorkflowTaskFailed event's cause.
	Cause string `json:"cause,omitempty"`
	Bytes int    `json:"bytes"`
}

// historyEvent keeps what the action count needs of ev.
func historyEvent(ev *historypb.HistoryEvent) HistoryEvent {
	h := HistoryEvent{ID: ev.GetEventId(), Type: strings.TrimPrefix(ev.GetEventType().String(), "EventType"), Bytes: proto.Size(ev)}
	h.Type = strings.TrimPrefix(h.Type, "EVENT_TYPE_")
	switch a := ev.GetAttributes().(type) {
	case *historypb.HistoryEvent_MarkerRecordedEventAttributes:
		h.Marker, h.Task = a.MarkerRecordedEventAttributes.GetMarkerName(), a.MarkerRecordedEventAttributes.GetWorkflowTaskCompletedEventId()
	case *historypb.HistoryEvent_UpsertWorkflowSearchAttributesEventAttributes:
		attrs := a.UpsertWorkflowSearchAttributesEventAttributes
		h.Task = attrs.GetWorkflowTaskCompletedEventId()
		for k := range attrs.GetSearchAttributes().GetIndexedFields() {
			h.Keys = append(h.Keys, k)
		}
		slices.Sort(h.Keys)
	case *historypb.HistoryEvent_ActivityTaskStartedEventAttributes:
		h.Attempt = a.ActivityTaskStartedEventAttributes.GetAttempt()
	case *historypb.HistoryEvent_ActivityTaskScheduledEventAttributes:
		h.Task = a.ActivityTaskScheduledEventAttributes.GetWorkflowTaskCompletedEventId()
	case *historypb.HistoryEvent_TimerStartedEventAttributes:
		h.Task = a.TimerStartedEventAttributes.GetWorkflowTaskCompletedEventId()
	case *historypb.HistoryEvent_WorkflowTaskCompletedEventAttributes:
		h.LocalRetries = a.WorkflowTaskCompletedEventAttributes.GetMeteringMetadata().GetNonfirstLocalActivityExecutionAttempts()
	case *historypb.HistoryEvent_WorkflowTaskFailedEventAttributes:
		h.Cause = strings.TrimPrefix(a.WorkflowTaskFailedEventAttributes.GetCause().String(), "WorkflowTaskFailedCause")
	}
	return h
}

// actionRule is one line of the rule: the history events that are
// billable actions, how many each counts, and under what name.
type actionRule struct {
	Event  enums.EventType
	Kind   string // the action's name in the report
	Counts string // how it is counted, for the report
	count  func(e HistoryEvent, seenTask map[int64]bool) int
}

func one(HistoryEvent, map[int64]bool) int { return 1 }

// actionRules is the rule, event type by event type: every event type not
// listed counts nothing (workflow task scheduled/started/completed beyond
// their local activity retries, activity completion, timer fired, the
// close, update completion, …).
var actionRules = []actionRule{
	{enums.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, "start", "1 (search attributes given at start are free)", one},
	{enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, "signal", "1 per signal", one},
	{enums.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, "update", "1 per update accepted (a rejected one is also 1, but is not in history)", one},
	{enums.EVENT_TYPE_TIMER_STARTED, "timer", "1 per timer started", one},
	{enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, "activity", "1 per activity", one},
	{enums.EVENT_TYPE_ACTIVITY_TASK_STARTED, "activity retry", "attempt − 1", func(e HistoryEvent, _ map[int64]bool) int { return max(0, int(e.Attempt)-1) }},
	{enums.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, "upsert", "1 per upsert command, 0 if it sets only TemporalChangeVersion", func(e HistoryEvent, _ map[int64]bool) int {
		if len(e.Keys) == 1 && e.Keys[0] == "TemporalChangeVersion" {
			return 0
		}
		return 1
	}},
	{enums.EVENT_TYPE_MARKER_RECORDED, "markers", "1 per workflow task that records any (local activities, versions, side effects), however many", func(e HistoryEvent, seen map[int64]bool) int {
		if seen[e.Task] {
			return 0
		}
		seen[e.Task] = true
		return 1
	}},
	{enums.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, "local activity retry", "its local activity attempts after the first (metering metadata)", func(e HistoryEvent, _ map[int64]bool) int { return int(e.LocalRetries) }},
	{enums.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED, "child workflow", "2 (the intent and the start)", func(HistoryEvent, map[int64]bool) int { return 2 }},
	{enums.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, "signal sent", "1 (Temporal shows it on the signalled workflow)", one},
	{enums.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED, "options", "1", one},
	{enums.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED, "nexus", "1", one},
	{enums.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED, "nexus", "1", one},
	{enums.EVENT_TYPE_WORKFLOW_TASK_FAILED, "reset", "1 when its cause is a reset", func(e HistoryEvent, _ map[int64]bool) int {
		if e.Cause == "ResetWorkflow" {
			return 1
		}
		return 0
	}},
}

// typeName is an event type as HistoryEvent.Type holds it.
func typeName(t enums.EventType) string {
	return strings.TrimPrefix(strings.TrimPrefix(t.String(), "EventType"), "EVENT_TYPE_")
}

// Actions counts the billable actions of one run's history: the total
// and by kind.
func Actions(history []HistoryEvent) (total int, kinds map[string]int) {
	rules := map[string]actionRule{}
	for _, r := range actionRules {
		rules[typeName(r.Event)] = r
	}
	kinds = map[string]int{}
	seen := map[int64]bool{}
	for _, e := range history {
		r, ok := rules[e.Type]
		if !ok {
			continue
		}
		if n := r.count(e, seen); n > 0 {
			kinds[r.Kind] += n
			total += n
		}
	}
	return total, kinds
}

// actionsLine lists a run's actions by kind, largest first.
func actionsLine(history []HistoryEvent) string {
	_, kinds := Actions(history)
	return kindsLine(kinds)
}

// perMonth is what n actions an invoice cost for 10,000 invoices a month:
// the actions and their price at the page's first tier.
func perMonth(actions int) string {
	a := actions * 10000
	return fmt.Sprintf("%d (≈ $%.2f)", a, float64(a)*actionPricePerMillion/1e6)
}

// actionsNote explains in the report how the billable actions are counted:
// the rule as a table, from actionRules, and what the history cannot show.
func actionsNote() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Billable actions: how they are counted\n\n")
	fmt.Fprintf(&b, "Temporal Cloud bills by the action. The cost table counts each path's actions\n"+
		"from its history by the rule Temporal states at <%s> (read %s;\n"+
		"the rule is Temporal's and may change), event by event (`bench/actions.go`, tested on a\n"+
		"known history):\n\n", actionsSource, actionPriceRead)
	fmt.Fprintf(&b, "| history event | action | counts |\n|---|---|---|\n")
	for _, r := range actionRules {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", typeName(r.Event), r.Kind, r.Counts)
	}
	fmt.Fprintf(&b, "\nEvery other event counts nothing (workflow task scheduled and started, activity\n"+
		"and timer completion, update completion, the close). Not in the history, so not counted:\n"+
		"queries (each `GET /v1/invoices/{id}` of an open invoice asks its workflow for its\n"+
		"status: one action a look; the desk reads the database and asks no workflow), activity\n"+
		"heartbeats, workflow task heartbeats (a local activity running longer than a workflow\n"+
		"task's timeout), rejected updates and schedules. Version markers are counted with the\n"+
		"other markers of their workflow task (\"all RecordMarkers from each Workflow Task as one\n"+
		"action\"); the `TemporalChangeVersion` upsert beside them is free. Per 10,000 invoices a\n"+
		"month is the actions times 10,000, priced at $%d a million: the first 5 million's\n"+
		"pay-as-you-go price at <%s> (read %s); volume tiers, plans and\n"+
		"storage are not included.\n", actionPricePerMillion, actionPriceSource, actionPriceRead)
	return b.String()
}
