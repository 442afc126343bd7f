package collect

// FromWorkflow turns what a workflow answered a command with (the typed
// errors of workflows.Client) into an *Error; ended is the message for a
// workflow that has already ended. It serves the front doors whose commands
// do not run through this package yet.
func FromWorkflow(err error, ended string) error { return fromWorkflow(err, ended) }
