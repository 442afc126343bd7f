package collect

// commandStore is what the commands on a running invoice (disputes,
// promises, pauses, closing, due dates, decisions), notes and tasks need of
// the database.
type commandStore interface {
}
