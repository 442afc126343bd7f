package workflows

import (
	"context"
	"errors"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// Client is the typed client of the invoice workflow and its siblings: the
// one place outside the worker that calls Temporal. The use cases (package
// collect) talk to running invoices only through it.
type Client struct {
	Temporal client.Client
	// HideAmounts leaves amounts out of the search attributes, which Temporal
	// indexes in clear (set when the payload codec is on).
	HideAmounts bool
}

// ErrEnded is returned for a command sent to a workflow that has ended.
var ErrEnded = errors.New("the workflow has ended")

// RefusedError is a workflow validator's refusal of a command, naming the
// offending field.
type RefusedError struct {
	Field   string
	Message string
}

func (e *RefusedError) Error() string { return e.Message }

// ConflictError is a command the workflow's current state forbids.
type ConflictError struct{ Message string }

func (e *ConflictError) Error() string { return e.Message }

// Update runs the named update on a workflow and waits for its result.
// updateID makes a retried command run once. A validator's refusal comes
// back as *RefusedError, a state conflict as *ConflictError, an ended
// workflow as ErrEnded; anything else (Temporal unreachable, a deadline) is
// returned as it came.
func (c *Client) Update(ctx context.Context, workflowID, name, updateID string, arg, result any) error {
	handle, err := c.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateID: updateID, UpdateName: name,
		WaitForStage: client.WorkflowUpdateStageCompleted, Args: []any{arg},
	})
	if err == nil {
		err = handle.Get(ctx, result)
	}
	return commandError(err)
}

// commandError maps what Temporal answered a command with to the client's
// typed errors.
func commandError(err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case ErrInvalidArgument:
			var field string
			_ = appErr.Details(&field)
			return &RefusedError{Field: field, Message: appErr.Message()}
		case ErrConflict:
			return &ConflictError{Message: appErr.Message()}
		}
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return ErrEnded
	}
	return err
}
