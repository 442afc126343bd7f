package collect

// creditStore is what credit applications need of the database.
type creditStore interface {
}
