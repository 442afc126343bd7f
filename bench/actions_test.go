package main

import (
	"encoding/json"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

// knownHistory is a run as the invoice workflow leaves one (a start whose
// first task versions, saves its status by a local activity, upserts its
// stage and sleeps; a payment signal; a task whose local activities were
// retried twice, scheduling an activity that ran three times; an update),
// built as the server's events so that what the bench keeps of them is
// tested too.
func knownHistory() []*historypb.HistoryEvent {
	var evs []*historypb.HistoryEvent
	add := func(t enums.EventType, attrs any) {
		ev := &historypb.HistoryEvent{EventId: int64(len(evs) + 1), EventType: t}
		switch a := attrs.(type) {
		case *historypb.MarkerRecordedEventAttributes:
			ev.Attributes = &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: a}
		case *historypb.UpsertWorkflowSearchAttributesEventAttributes:
			ev.Attributes = &historypb.HistoryEvent_UpsertWorkflowSearchAttributesEventAttributes{UpsertWorkflowSearchAttributesEventAttributes: a}
		case *historypb.TimerStartedEventAttributes:
			ev.Attributes = &historypb.HistoryEvent_TimerStartedEventAttributes{TimerStartedEventAttributes: a}
		case *historypb.WorkflowTaskCompletedEventAttributes:
			ev.Attributes = &historypb.HistoryEvent_WorkflowTaskCompletedEventAttributes{WorkflowTaskCompletedEventAttributes: a}
		case *historypb.ActivityTaskScheduledEventAttributes:
			ev.Attributes = &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: a}
		case *historypb.ActivityTaskStartedEventAttributes:
			ev.Attributes = &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{ActivityTaskStartedEventAttributes: a}
		case *historypb.WorkflowTaskFailedEventAttributes:
			ev.Attributes = &historypb.HistoryEvent_WorkflowTaskFailedEventAttributes{WorkflowTaskFailedEventAttributes: a}
		}
		evs = append(evs, ev)
	}
	sa := func(keys ...string) *historypb.UpsertWorkflowSearchAttributesEventAttributes {
		f := map[string]*commonpb.Payload{}
		for _, k := range keys {
			f[k] = &commonpb.Payload{Data: []byte(`"x"`)}
		}
		return &historypb.UpsertWorkflowSearchAttributesEventAttributes{WorkflowTaskCompletedEventId: 4, SearchAttributes: &commonpb.SearchAttributes{IndexedFields: f}}
	}
	add(enums.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, nil)                                                                                   // 1: start
	add(enums.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, nil)                                                                                      // 2
	add(enums.EVENT_TYPE_WORKFLOW_TASK_STARTED, nil)                                                                                        // 3
	add(enums.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, &historypb.WorkflowTaskCompletedEventAttributes{})                                        // 4
	add(enums.EVENT_TYPE_MARKER_RECORDED, &historypb.MarkerRecordedEventAttributes{MarkerName: "Version", WorkflowTaskCompletedEventId: 4}) // 5: markers of task 4
	add(enums.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, sa("TemporalChangeVersion"))                                                    // 6: free
	add(enums.EVENT_TYPE_MARKER_RECORDED, &historypb.MarkerRecordedEventAttributes{MarkerName: "Version", WorkflowTaskCompletedEventId: 4})
	add(enums.EVENT_TYPE_MARKER_RECORDED, &historypb.MarkerRecordedEventAttributes{MarkerName: "LocalActivity", WorkflowTaskCompletedEventId: 4})
	add(enums.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, sa("CollectionsStage", "CollectionsBalance"))        // 9: upsert
	add(enums.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, sa("TemporalChangeVersion", "CollectionsStage"))     // 10: upsert
	add(enums.EVENT_TYPE_TIMER_STARTED, &historypb.TimerStartedEventAttributes{WorkflowTaskCompletedEventId: 4}) // 11: timer
	add(enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, nil)                                                       // 12: signal
	add(enums.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, nil)                                                           // 13
	add(enums.EVENT_TYPE_WORKFLOW_TASK_STARTED, nil)                                                             // 14
	add(enums.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, &historypb.WorkflowTaskCompletedEventAttributes{               // 15: 2 local activity retries
		MeteringMetadata: &commonpb.MeteringMetadata{NonfirstLocalActivityExecutionAttempts: 2}})
	add(enums.EVENT_TYPE_MARKER_RECORDED, &historypb.MarkerRecordedEventAttributes{MarkerName: "LocalActivity", WorkflowTaskCompletedEventId: 15}) // 16: markers of task 15
	add(enums.EVENT_TYPE_MARKER_RECORDED, &historypb.MarkerRecordedEventAttributes{MarkerName: "LocalActivity", WorkflowTaskCompletedEventId: 15})
	add(enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, &historypb.ActivityTaskScheduledEventAttributes{WorkflowTaskCompletedEventId: 15}) // 18: activity
	add(enums.EVENT_TYPE_ACTIVITY_TASK_STARTED, &historypb.ActivityTaskStartedEventAttributes{Attempt: 3})                           // 19: 2 retries
	add(enums.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, nil)
	add(enums.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, nil) // 21: update
	add(enums.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, nil)
	add(enums.EVENT_TYPE_WORKFLOW_TASK_FAILED, &historypb.WorkflowTaskFailedEventAttributes{Cause: enums.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND})
	add(enums.EVENT_TYPE_TIMER_FIRED, nil)
	add(enums.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, nil)
	return evs
}

func TestActionsOfAKnownHistory(t *testing.T) {
	var hist []HistoryEvent
	for _, ev := range knownHistory() {
		hist = append(hist, historyEvent(ev))
	}
	total, kinds := Actions(hist)
	want := map[string]int{"start": 1, "markers": 2, "upsert": 2, "timer": 1, "signal": 1, "local activity retry": 2,
		"activity": 1, "activity retry": 2, "update": 1}
	if total != 13 || len(kinds) != len(want) {
		t.Fatalf("%d actions %v, want 13 %v", total, kinds, want)
	}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%s: %d actions, want %d (all: %v)", k, kinds[k], n, kinds)
		}
	}
	if got := actionsLine(hist); got != "activity retry 2 · local activity retry 2 · markers 2 · upsert 2 · activity 1 · signal 1 · start 1 · timer 1 · update 1" {
		t.Errorf("actionsLine = %q", got)
	}

	// What the JSON of a run keeps counts the same when read back.
	raw, err := json.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	var back []HistoryEvent
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if n, _ := Actions(back); n != total {
		t.Errorf("read back from JSON: %d actions, want %d", n, total)
	}
	if hist[0].Type != "WorkflowExecutionStarted" || hist[4].Marker != "Version" || hist[4].Task != 4 || hist[18].Attempt != 3 ||
		hist[14].LocalRetries != 2 || len(hist[9].Keys) != 2 || hist[9].Keys[0] != "CollectionsStage" || hist[0].Bytes == 0 {
		t.Errorf("events kept: %+v", hist)
	}

	// A reset is an action; another failed workflow task is not.
	if n, _ := Actions([]HistoryEvent{{Type: "WorkflowTaskFailed", Cause: "ResetWorkflow"}, {Type: "WorkflowTaskFailed", Cause: "UnhandledCommand"}}); n != 1 {
		t.Errorf("failed workflow tasks: %d actions, want 1 (the reset)", n)
	}
	if perMonth(13) != "130000 (≈ $6.50)" {
		t.Errorf("perMonth(13) = %q", perMonth(13))
	}
}
